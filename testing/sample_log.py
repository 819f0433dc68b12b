"""Simulated data straight into the log (no Kafka), for tests, notebooks and benchmarks.

Uses the ingest simulator and the idempotent batch appender, so the log holds exactly what
the consumer would have written, duplicates from the simulated delivery included (they are
dropped by the appender as in production).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingest.appender import AppendResult, append_batch
from ingest.rows import SourceOffset
from learnstream.contracts import Envelope
from learnstream.db import connect
from learnstream.settings import Settings
from simulator import Simulation, SimulationConfig, write_truth
from warehouse.errors import WarehouseError
from warehouse.export import ExportResult, export_log
from warehouse.queries import HORIZON_PASSED_LOG

#: A Monday, so simulated weeks line up with ISO weeks in the retention cohorts.
SAMPLE_START = datetime(2025, 3, 3, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SampleLoad:
    """What was appended, and where the simulator's ground truth was written."""

    appended: AppendResult
    truth_path: Path


def load_simulation(
    settings: Settings,
    truth_path: Path,
    *,
    learners: int = 40,
    days: int = 14,
    seed: int = 7,
    batch_size: int = 5000,
) -> SampleLoad:
    """Simulate ``learners`` over ``days``, append every event to the log, write the truth."""
    simulation = Simulation(
        SimulationConfig(learners=learners, days=days, seed=seed, start=SAMPLE_START)
    )
    total = AppendResult()
    batch: list[tuple[Envelope, SourceOffset]] = []
    with connect(settings) as conn:
        for offset, event in enumerate(simulation.events()):
            batch.append((event, SourceOffset("simulation", 0, offset)))
            if len(batch) >= batch_size:
                total += append_batch(conn, batch)
                batch = []
        if batch:
            total += append_batch(conn, batch)
    return SampleLoad(total, write_truth(simulation.truth(), truth_path))


def wait_for_horizon(settings: Settings, *, timeout: float = 120.0) -> None:
    """Wait until every row now in the log is below the gap-safe horizon, i.e. exportable.

    The horizon is the cluster-wide xmin: a long transaction anywhere on the server (another
    database's bulk load, say) holds back rows committed after it started. Tests and demos
    that need "everything" wait here rather than export part of it.
    """
    deadline = time.monotonic() + timeout
    with connect(settings, autocommit=True) as conn:
        while True:
            row = conn.execute(HORIZON_PASSED_LOG).fetchone()
            if row is not None and row[0]:
                return
            if time.monotonic() > deadline:
                raise WarehouseError(f"log rows still above the xmin horizon after {timeout} s")
            time.sleep(0.2)


def export_all(settings: Settings, *, timeout: float = 120.0) -> ExportResult:
    """Export every row now in the log (waiting for the horizon first)."""
    wait_for_horizon(settings, timeout=timeout)
    return export_log(settings)
