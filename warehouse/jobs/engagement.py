"""The engagement job: per-content and per-dimension engagement, DAU/WAU/MAU, session
lengths, weekly retention cohorts and the generation funnel.

The per-content aggregation (the heavy part: it scans every playback and like event) exists
three times, and a contract test demands the same result from each: DuckDB SQL over the
Parquet tree, a Polars lazy query over the same files, and the same SQL text in PostgreSQL
over the log tables (the baseline of ``bench/warehouse.py``). Everything after it works on
one row per content and is shared.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl

from learnstream.db import connect
from learnstream.log import SESSION_GAP
from learnstream.settings import Settings
from warehouse.columns import BEHAVIOR, LIKES
from warehouse.jobs.identity import identities
from warehouse.jobs.sql import (
    DAILY_ACTIVITY,
    DUCKDB_CONTENT_ENGAGEMENT,
    GENERATION_FUNNEL,
    POSTGRES_CONTENT_ENGAGEMENT,
    RETENTION_COHORTS,
    SESSION_LENGTH_DISTRIBUTION,
    session_lengths_sql,
)

Engine = Literal["duckdb", "polars"]
ENGINES: tuple[Engine, ...] = ("duckdb", "polars")

#: The columns of the per-content aggregate, in order, whichever engine computed it.
CONTENT_COLUMNS: tuple[str, ...] = (
    "content_id", "format", "genre", "topic", "difficulty",
    "starts", "completions", "skips", "replays", "plays", "completed_starts", "skipped_starts",
    "listeners", "likers",
    "completion_rate", "avg_listen_through_pct", "skip_rate", "replay_rate", "like_rate",
    "time_spent_seconds",
)
_COUNTS = (
    "starts", "completions", "skips", "replays", "plays", "completed_starts", "skipped_starts",
    "listeners", "likers",
)
_RATES = (
    "completion_rate", "avg_listen_through_pct", "skip_rate", "replay_rate", "like_rate",
    "time_spent_seconds",
)
DIMENSIONS: tuple[str, ...] = ("format", "genre", "topic", "difficulty")

#: Starts' worth of weight the global mean gets in a content's engagement score, so a
#: content with two enthusiastic listens does not outrank one with two hundred good ones.
SCORE_PRIOR_STARTS = 10.0


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    """Same column order and types from every engine (DuckDB sums are HUGEINT/DECIMAL...)."""
    return frame.select(
        pl.col("content_id", *DIMENSIONS).cast(pl.String),
        pl.col(*_COUNTS).cast(pl.Int64),
        pl.col(*_RATES).cast(pl.Float64),
    ).sort("content_id")


def content_engagement_duckdb(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per-content aggregates from the ``events`` view, in DuckDB."""
    return _typed(con.sql(DUCKDB_CONTENT_ENGAGEMENT).pl())


def content_engagement_postgres(settings: Settings) -> pl.DataFrame:
    """The same aggregates, same SQL, computed by PostgreSQL over the log tables."""
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute(POSTGRES_CONTENT_ENGAGEMENT)
        names = [d.name for d in cur.description or []]
        rows = cur.fetchall()
    return _typed(pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None))


def _capped_percent() -> pl.Expr:
    reach = pl.coalesce(
        pl.col("playback_percent"), 100.0 * pl.col("playback_position") / pl.col("duration")
    )
    return pl.when(reach > 100.0).then(100.0).otherwise(reach)


def content_engagement_polars(events: pl.LazyFrame) -> pl.DataFrame:
    """The same aggregates in Polars (lazy, streaming over the Parquet files)."""
    ids = identities(events)
    behavior = events.filter(pl.col("family") == BEHAVIOR).join(ids, on="session_id", how="left")
    listened = (
        pl.when(pl.col("duration").is_null())
        .then(pl.col("playback_position"))
        .otherwise(pl.min_horizontal("playback_position", "duration"))
    )
    plays = (
        behavior.group_by("content_id", "session_id")
        .agg(
            pl.col("learner_id").max().alias("_learner"),
            pl.col("identified_as").max().alias("_identified_as"),
            (pl.col("event_type") == "playback.started").sum().alias("starts"),
            (pl.col("event_type") == "playback.completed").sum().alias("completions"),
            (pl.col("event_type") == "playback.skipped").sum().alias("skips"),
            (pl.col("event_type") == "playback.replayed").sum().alias("replays"),
            _capped_percent().max().alias("listen_through"),
            listened.max().alias("listened_seconds"),
        )
        .with_columns(
            pl.coalesce("_learner", "_identified_as", "session_id").alias("actor"),
            pl.min_horizontal("completions", "starts").alias("completed_starts"),
            pl.min_horizontal("skips", "starts").alias("skipped_starts"),
        )
    )
    per_content = plays.group_by("content_id").agg(
        pl.col("starts", "completions", "skips", "replays").sum(),
        pl.len().alias("plays"),
        pl.col("completed_starts", "skipped_starts").sum(),
        pl.col("actor").n_unique().alias("listeners"),
        pl.col("listen_through").mean().alias("avg_listen_through_pct"),
        pl.col("listened_seconds").sum().alias("time_spent_seconds"),
    )
    likes = (
        events.filter(pl.col("family") == LIKES)
        .join(ids, on="session_id", how="left")
        .with_columns(pl.coalesce("learner_id", "identified_as", "session_id").alias("actor"))
        .group_by("content_id", "actor")
        .agg(pl.col("event_type").sort_by(["occurred_at", "position"]).last().alias("last"))
        .group_by("content_id")
        .agg((pl.col("last") == "content.liked").sum().alias("likers"))
    )
    dims = list(DIMENSIONS)
    declared = (
        events.filter(pl.col("event_type") == "content.generated")
        .group_by("content_id")
        .agg(pl.col(dims).sort_by("position").last())
    )
    observed = (
        events.filter(pl.col("family").is_in([BEHAVIOR, LIKES]))
        .join(declared.select("content_id"), on="content_id", how="anti")
        .group_by("content_id")
        .agg(pl.col(dims).sort_by("position").first())
    )
    universe = pl.concat(
        [per_content.select("content_id"), likes.select("content_id"),
         declared.select("content_id")]
    ).unique().filter(pl.col("content_id").is_not_null())
    joined = (
        universe.join(per_content, on="content_id", how="left")
        .join(likes, on="content_id", how="left")
        .join(declared, on="content_id", how="left")
        .join(observed, on="content_id", how="left", suffix="_observed")
    )
    starts, listeners = pl.col("starts"), pl.col("listeners")
    result = joined.with_columns(
        *(pl.coalesce(d, f"{d}_observed").alias(d) for d in dims),
        pl.when(starts > 0).then(pl.col("completed_starts") / starts).alias("completion_rate"),
        pl.when(starts > 0).then(pl.col("skipped_starts") / starts).alias("skip_rate"),
        pl.when(starts > 0).then(pl.col("replays") / starts).alias("replay_rate"),
        pl.when(listeners > 0)
        .then(pl.col("likers").fill_null(0) / listeners)
        .alias("like_rate"),
    ).with_columns(
        pl.col(*_COUNTS).fill_null(0),
        pl.col("time_spent_seconds").fill_null(0.0),
    )
    return _typed(result.collect())


def scan_events(events_dir: Path) -> pl.LazyFrame:
    """The exported events as a Polars lazy frame (hive partitions typed)."""
    return pl.scan_parquet(
        events_dir / "event_date=*" / "*.parquet",
        hive_partitioning=True,
        hive_schema={"event_date": pl.Date},
    )


def with_engagement_score(content: pl.DataFrame) -> pl.DataFrame:
    """Add ``engagement_score`` (0..1): a blend of completion, listen-through, likes and
    not skipping, shrunk toward the start-weighted mean by ``SCORE_PRIOR_STARTS``."""
    raw = (
        0.4 * pl.col("completion_rate").fill_null(0.0)
        + 0.3 * pl.col("avg_listen_through_pct").fill_null(0.0) / 100.0
        + 0.2 * pl.col("like_rate").fill_null(0.0).clip(0.0, 1.0)
        + 0.1 * (1.0 - pl.col("skip_rate").fill_null(0.0).clip(0.0, 1.0))
    )
    scored = content.with_columns(raw.alias("_raw"))
    weights = scored["starts"].cast(pl.Float64)
    total = float(weights.sum())
    prior = float((scored["_raw"] * weights).sum()) / total if total > 0 else 0.0
    k = SCORE_PRIOR_STARTS
    return scored.with_columns(
        ((pl.col("starts") * pl.col("_raw") + k * prior) / (pl.col("starts") + k))
        .alias("engagement_score")
    ).drop("_raw")


def engagement_by_dimension(content: pl.DataFrame) -> pl.DataFrame:
    """Engagement per format, genre, topic and difficulty value, re-aggregated from counts
    (rates of sums, not means of rates). Listen-through is weighted by plays."""
    frames = []
    for dim in DIMENSIONS:
        grouped = (
            content.filter(pl.col(dim).is_not_null())
            .group_by(dim)
            .agg(
                pl.len().alias("contents"),
                pl.col(
                    "starts", "completed_starts", "skipped_starts", "replays", "listeners",
                    "likers",
                ).sum(),
                (pl.col("avg_listen_through_pct") * pl.col("plays")).sum().alias("_lt_sum"),
                pl.col("plays").filter(pl.col("avg_listen_through_pct").is_not_null())
                .sum().alias("_lt_plays"),
                pl.col("time_spent_seconds").sum(),
            )
        )
        s = pl.col("starts")
        frames.append(
            grouped.select(
                pl.lit(dim).alias("dimension"),
                pl.col(dim).alias("value"),
                pl.col("contents").cast(pl.Int64),
                s.cast(pl.Int64),
                pl.when(s > 0).then(pl.col("completed_starts") / s).alias("completion_rate"),
                pl.when(pl.col("_lt_plays") > 0)
                .then(pl.col("_lt_sum") / pl.col("_lt_plays")).alias("avg_listen_through_pct"),
                pl.when(s > 0).then(pl.col("skipped_starts") / s).alias("skip_rate"),
                pl.when(s > 0).then(pl.col("replays") / s).alias("replay_rate"),
                pl.when(pl.col("listeners") > 0)
                .then(pl.col("likers") / pl.col("listeners")).alias("like_rate"),
                pl.col("time_spent_seconds").cast(pl.Float64),
            )
        )
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames).sort("dimension", "value")


def activity_tables(
    con: duckdb.DuckDBPyConnection, content: pl.DataFrame, session_gap: timedelta = SESSION_GAP
) -> dict[str, pl.DataFrame]:
    """DAU/WAU/MAU, retention, sessions (split by ``session_gap``) and the funnel (DuckDB
    over the events view)."""
    con.register("_content_engagement", content.to_arrow())
    con.sql(
        "CREATE OR REPLACE TEMP TABLE content_engagement AS SELECT * FROM _content_engagement"
    )
    con.sql(f"CREATE OR REPLACE TEMP TABLE session_lengths AS {session_lengths_sql(session_gap)}")
    tables = {
        "daily_activity": con.sql(DAILY_ACTIVITY).pl(),
        "retention_cohorts": con.sql(RETENTION_COHORTS).pl(),
        "session_lengths": con.sql("SELECT * FROM session_lengths").pl(),
        "session_length_distribution": con.sql(SESSION_LENGTH_DISTRIBUTION).pl(),
        "generation_funnel": con.sql(GENERATION_FUNNEL).pl(),
    }
    con.unregister("_content_engagement")
    return tables
