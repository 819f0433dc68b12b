"""Runs a named job end to end: read the warehouse, compute, write Parquet outputs and the
PostgreSQL write-backs. Idempotent: outputs are replaced whole, from the same inputs the
same result."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl

from learnstream.db import connect
from learnstream.log import SESSION_GAP
from learnstream.settings import Settings
from warehouse import catalog
from warehouse.errors import UnknownJob, WarehouseEmpty
from warehouse.export import Manifest
from warehouse.jobs.difficulty import calibrate
from warehouse.jobs.engagement import (
    Engine,
    activity_tables,
    content_engagement_duckdb,
    content_engagement_polars,
    engagement_by_dimension,
    scan_events,
    with_engagement_score,
)
from warehouse.jobs.identity import identities
from warehouse.jobs.sql import DECLARED_DIFFICULTY, OUTCOMES
from warehouse.layout import WarehouseLayout, write_parquet_durably
from warehouse.queries import LEARNER_ABILITIES, RELATION_EXISTS
from warehouse.writeback import write_back

JOBS: tuple[str, ...] = ("engagement", "difficulty")

#: The engine each job uses unless told otherwise, chosen by measurement (the README, "Warehouse",
#: bench/warehouse.py): the whole engagement job over 10M events took DuckDB 2.36 s vs
#: Polars 2.79 s (DuckDB faster in 3 of 4 runs); the difficulty job's inputs on a
#: 32k-event simulated warehouse: Polars 0.22 s vs DuckDB 0.32 s (the fit itself is numpy).
DEFAULT_ENGINE: dict[str, Engine] = {"engagement": "duckdb", "difficulty": "polars"}

Step = Callable[[str], None]


@dataclass(slots=True)
class JobResult:
    """What a job run produced."""

    job: str
    engine: str
    tables: dict[str, int] = field(default_factory=dict)
    written_back: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _no_step(_: str) -> None:
    return None


def _events_count(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.sql("SELECT count(*) FROM events").fetchall()[0][0])


def compute_engagement(
    con: duckdb.DuckDBPyConnection,
    layout: WarehouseLayout,
    engine: Engine,
    step: Step,
    session_gap: timedelta = SESSION_GAP,
) -> dict[str, pl.DataFrame]:
    """Every engagement table, computed from the warehouse behind ``con``."""
    step(f"content engagement ({engine})")
    if engine == "polars":
        content = content_engagement_polars(scan_events(layout.events))
    else:
        content = content_engagement_duckdb(con)
    content = with_engagement_score(content)
    step("engagement by format, genre, topic, difficulty")
    tables = {
        "content_engagement": content,
        "engagement_by_dimension": engagement_by_dimension(content),
    }
    step("activity, retention, sessions, funnel")
    tables.update(activity_tables(con, content, session_gap))
    return tables


def learner_abilities(settings: Settings) -> tuple[dict[str, float] | None, str]:
    """Abilities from the learner model's state (``read.learner_model_state``), and a note
    saying where they came from; None before the learner model has run."""
    with connect(settings) as conn:
        exists = conn.execute(RELATION_EXISTS, {"name": "read.learner_model_state"}).fetchone()
        if exists and exists[0]:
            rows = conn.execute(LEARNER_ABILITIES).fetchall()
            if rows:
                note = "abilities from read.learner_model_state.ability_logit"
                return {str(k): float(v) for k, v in rows}, note
    return None, "no learner model state with abilities: Rasch fit"


def _difficulty_inputs_polars(layout: WarehouseLayout) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The OUTCOMES and DECLARED_DIFFICULTY queries, in Polars."""
    events = scan_events(layout.events)
    outcomes = (
        events.filter(
            (pl.col("event_type") == "assessment.submitted") & (pl.col("max_score") > 0)
        )
        .join(identities(events), on="session_id", how="left")
        .sort("position")
        .select(
            pl.coalesce("learner_id", "identified_as", "session_id").alias("learner_id"),
            pl.coalesce("content_id", "assessment_id").alias("item_id"),
            (pl.col("score") / pl.col("max_score")).clip(0.0, 1.0).alias("outcome"),
        )
    )
    generated = (
        events.filter(pl.col("event_type") == "content.generated")
        .group_by("content_id")
        .agg(
            pl.col("difficulty").sort_by("position").last().alias("declared_difficulty"),
            pl.col("difficulty_score").sort_by("position").last().alias("_generated_score"),
        )
    )
    asserted = (
        events.filter(pl.col("event_type") == "assessment.submitted")
        .with_columns(
            pl.col("payload").str.json_path_match("$.declared_difficulty")
            .cast(pl.Float64).alias("_declared"),
            pl.coalesce("content_id", "assessment_id").alias("_item"),
        )
        .filter(pl.col("_declared").is_not_null())
        .group_by("_item")
        .agg(pl.col("_declared").sort_by("position").last())
    )
    declared = generated.join(
        asserted, left_on="content_id", right_on="_item", how="full", coalesce=True
    ).select(
        "content_id",
        "declared_difficulty",
        pl.coalesce("_generated_score", "_declared").alias("declared_difficulty_score"),
    )
    return outcomes.collect(), declared.collect()


def compute_difficulty(
    con: duckdb.DuckDBPyConnection,
    layout: WarehouseLayout,
    engine: Engine,
    abilities: dict[str, float] | None,
    step: Step,
) -> dict[str, pl.DataFrame]:
    """Difficulty tables from the assessment outcomes in the warehouse."""
    step(f"outcomes ({engine})")
    if engine == "polars":
        outcomes, declared = _difficulty_inputs_polars(layout)
    else:
        outcomes, declared = con.sql(OUTCOMES).pl(), con.sql(DECLARED_DIFFICULTY).pl()
    step("calibration")
    if outcomes.height == 0:
        raise WarehouseEmpty("no assessment outcomes exported: nothing to calibrate")
    content, learner = calibrate(outcomes, declared, abilities)
    return {"content_difficulty": content, "learner_difficulty": learner}


def run_job(
    settings: Settings,
    name: str,
    *,
    engine: Engine | None = None,
    write_to_postgres: bool = True,
    step: Step = _no_step,
) -> JobResult:
    """Run job ``name``; ``step`` is told each stage (for progress display)."""
    if name not in JOBS:
        raise UnknownJob(f"unknown job {name!r}; jobs: {', '.join(JOBS)}")
    chosen: Engine = engine or DEFAULT_ENGINE[name]
    layout = WarehouseLayout(settings.warehouse.dir)
    result = JobResult(name, chosen)
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    con = catalog.open(settings)
    try:
        if _events_count(con) == 0:
            raise WarehouseEmpty("no events exported yet: run `learnstream export` first")
        if name == "engagement":
            tables = compute_engagement(con, layout, chosen, step, settings.session_gap)
        else:
            abilities = None
            if write_to_postgres:
                abilities, note = learner_abilities(settings)
                result.notes.append(note)
            tables = compute_difficulty(con, layout, chosen, abilities, step)
        step("writing Parquet")
        for table, frame in tables.items():
            write_parquet_durably(layout.job_dir(name) / f"{table}.parquet", frame.to_arrow())
            result.tables[table] = frame.height
        catalog.refresh(con, layout, settings.session_gap)
    finally:
        con.close()
    if write_to_postgres:
        step("writing back to PostgreSQL")
        checkpoint = Manifest.load(layout).checkpoint
        result.written_back = write_back(
            settings, name, tables, engine=chosen, started_at=started_at,
            through=(checkpoint.tx_id, checkpoint.position),
        )
    result.seconds = time.perf_counter() - started
    return result
