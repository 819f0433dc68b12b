"""``learnstream demo``: the whole pipeline once, end to end, on simulated learners.

It is the composition root of the stages (the one place that imports them all): start the
local stack, migrate, simulate learners into Kafka, ingest until caught up, fit the learner
model, project the read models, export to the warehouse and run its jobs, then summarise
what landed. Run twice with the same seed, the second run adds nothing: every event is a
duplicate of one already in the log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from psycopg import sql
from rich.console import Console
from rich.table import Table

from learnstream.db import connect, migrate
from learnstream.settings import Settings

#: Schemas whose tables the summary counts.
SUMMARY_SCHEMAS = ("log", "read", "learner_model", "warehouse")

LIST_TABLES = """
SELECT table_schema, table_name
FROM information_schema.tables
WHERE table_schema = ANY(%s) AND table_type IN ('BASE TABLE', 'VIEW')
ORDER BY table_schema, table_name
"""

DEAD_LETTER_REASONS = """
SELECT reason, count(*) FROM log.dead_letters GROUP BY reason ORDER BY count(*) DESC, reason
"""


@dataclass(frozen=True, slots=True)
class DemoConfig:
    learners: int = 80
    days: int = 10
    seed: int = 7
    idle_seconds: float = 3.0
    #: Where the simulation's ground truth goes (default: ``<stack_dir>/demo``).
    work_dir: Path | None = None


@dataclass(slots=True)
class DemoSummary:
    """What the run did, step by step, and how many rows each table holds at the end."""

    step_seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    table_rows: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    ingested: int = 0
    duplicates: int = 0


@contextmanager
def _step(console: Console, summary: DemoSummary, name: str) -> Iterator[None]:
    console.rule(f"[bold]{name}")
    started = time.perf_counter()
    yield
    summary.step_seconds[name] = time.perf_counter() - started
    console.print(f"[green]done[/] {name} in {summary.step_seconds[name]:.1f} s")


def run_demo(settings: Settings, config: DemoConfig, console: Console) -> DemoSummary:
    """Run every stage once over a fresh simulation; return the summary (also printed)."""
    import anyio

    from app.wiring import kafka_sink
    from devstack import ensure_stack
    from devstack.cli import status_table
    from ingest.report import summary_table
    from ingest.runner import run_ingest
    from ingest.topics import ensure_topics
    from simulator import SimulationConfig
    from simulator.command import run as simulate

    summary = DemoSummary()
    demo_dir = config.work_dir or settings.devstack.dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    truth_path = demo_dir / f"simulation-{config.seed}.truth.json"

    with _step(console, summary, "local stack"):
        console.print(status_table(ensure_stack(settings, console=console)))
    with _step(console, summary, "migrations"):
        migrate(settings)
        ensure_topics(settings)
    with _step(console, summary, "simulate learners into Kafka"):
        # A fixed start date keeps the run reproducible: same seed, same event ids.
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        simulate(
            SimulationConfig(
                learners=config.learners,
                days=config.days,
                seed=config.seed,
                start=start - timedelta(days=config.days),
            ),
            out=None,
            truth=truth_path,
            sink=kafka_sink(settings),
            console=console,
        )
    with _step(console, summary, "ingest (until caught up)"):
        ingest_summary = anyio.run(
            lambda: run_ingest(settings, until_idle=config.idle_seconds)
        )
        console.print(summary_table(ingest_summary))
        summary.ingested = sum(t.inserted for t in ingest_summary.topics.values())
        summary.duplicates = sum(t.duplicates for t in ingest_summary.topics.values())
    _optional(console, summary, "fit the learner model", lambda: _fit_model(settings, console))
    with _step(console, summary, "project read models"):
        _project(settings, console)
    _optional(
        console, summary, "warehouse export and jobs",
        lambda: _warehouse(settings, truth_path, console),
    )
    _count_tables(settings, summary)
    console.print(summary_tables(summary))
    return summary


def _optional(
    console: Console, summary: DemoSummary, name: str, action: Callable[[], None]
) -> None:
    """Run a step whose failure should not hide what the other stages did; record why."""
    try:
        with _step(console, summary, name):
            action()
    except Exception as exc:  # reported in the summary, not swallowed
        summary.notes.append(f"{name} failed: {type(exc).__name__}: {exc}")
        console.print(f"[red]{name} failed:[/] {exc}")


def _fit_model(settings: Settings, console: Console) -> None:
    from learner_model.model.fit import FitConfig
    from learner_model.training import fit_from_log

    with connect(settings) as conn:
        params, upto, rows = fit_from_log(conn, FitConfig())
        conn.commit()
    console.print(f"model {params.version}: {rows:,} graded answers up to position {upto:,}")


def _project(settings: Settings, console: Console) -> None:
    from app.projections import running_projections
    from projections import project_until_caught_up

    result = project_until_caught_up(settings, running_projections(settings.session_gap))
    table = Table("projection", "how", "events applied incrementally")
    for name, applied in sorted(result.events.items()):
        how = "rebuilt from the log" if name in result.rebuilt else "incremental"
        table.add_row(name, how, f"{applied:,}")
    console.print(table)


def _warehouse(settings: Settings, truth_path: Path, console: Console) -> None:
    from warehouse import export_log, export_readmodels, run_job
    from warehouse.truth import import_truth

    exported = export_log(settings)
    export_readmodels(settings)
    if truth_path.exists():
        import_truth(settings, truth_path)
    console.print(f"exported {exported.rows:,} log rows to {settings.warehouse.dir}")
    for job in ("engagement", "difficulty"):
        result = run_job(settings, job)
        console.print(
            f"job {job} ({result.engine}, {result.seconds:.2f} s): "
            f"{result.written_back:,} rows written back"
        )


def _count_tables(settings: Settings, summary: DemoSummary) -> None:
    with connect(settings) as conn:
        tables: list[tuple[Any, ...]] = conn.execute(
            LIST_TABLES, (list(SUMMARY_SCHEMAS),)
        ).fetchall()
        for schema, name in tables:
            query = sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(name)
            )
            row = conn.execute(query).fetchone()
            summary.table_rows[f"{schema}.{name}"] = int(row[0]) if row else 0
        for reason, count in conn.execute(DEAD_LETTER_REASONS).fetchall():
            summary.dead_letters[str(reason)] = int(count)


def summary_tables(summary: DemoSummary) -> Table:
    """One table: rows per log table, read model and derived table; then notes."""
    table = Table(title="What landed", show_lines=False)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary.table_rows.items():
        table.add_row(name, f"{rows:,}")
    for reason, count in summary.dead_letters.items():
        table.add_row(f"  dead letters: {reason}", f"{count:,}")
    table.caption = (
        f"ingested {summary.ingested:,} new events, {summary.duplicates:,} duplicates collapsed; "
        f"{sum(summary.step_seconds.values()):.0f} s in all"
        + ("".join(f"\n{note}" for note in summary.notes))
    )
    return table
