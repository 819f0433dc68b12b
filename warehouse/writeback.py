"""Writes job results back to PostgreSQL (schema ``warehouse``), where the recommender reads
them. A job replaces its tables whole, in one transaction with its ``job_runs`` row, so a
rerun gives the same tables and a reader never sees half a run."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import polars as pl
from psycopg import sql

from learnstream.db import connect
from learnstream.settings import Settings
from warehouse.queries import RECORD_JOB_RUN

#: The write-back tables and their columns (the DDL of migrations 0005 and 0006), per job.
WRITEBACK_TABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "engagement": {
        "content_engagement": (
            "content_id", "format", "genre", "topic", "difficulty", "starts", "completions",
            "skips", "replays", "plays", "completed_starts", "skipped_starts", "listeners",
            "likers", "completion_rate",
            "avg_listen_through_pct", "skip_rate", "replay_rate", "like_rate",
            "time_spent_seconds", "engagement_score",
        ),
        "engagement_by_dimension": (
            "dimension", "value", "contents", "starts", "completion_rate",
            "avg_listen_through_pct", "skip_rate", "replay_rate", "like_rate",
            "time_spent_seconds",
        ),
        "daily_activity": ("day", "dau", "wau", "mau", "wau_partial", "mau_partial"),
        "retention_cohorts": (
            "cohort_week", "week_offset", "cohort_size", "active", "retention", "partial",
        ),
        "session_length_distribution": (
            "bucket_start_seconds", "bucket_end_seconds", "sessions",
        ),
        "generation_funnel": ("stage", "ordinal", "count", "conversion"),
    },
    "difficulty": {
        "content_difficulty": (
            "content_id", "declared_difficulty", "declared_difficulty_score",
            "calibrated_difficulty", "difficulty_se", "difficulty_score", "difficulty_mismatch",
            "outcomes", "success_rate", "ability_source",
        ),
        "learner_difficulty": (
            "learner_id", "ability", "ability_se", "attempts", "success_rate",
            "expected_success_on_seen", "target_difficulty_score", "ability_source",
        ),
    },
}


def write_back(
    settings: Settings,
    job: str,
    tables: Mapping[str, pl.DataFrame],
    *,
    engine: str,
    started_at: datetime,
    through: tuple[int, int] | None,
) -> int:
    """Replace ``job``'s write-back tables with ``tables``; return the rows written."""
    written = 0
    with connect(settings) as conn, conn.transaction(), conn.cursor() as cur:
        for table, columns in WRITEBACK_TABLES[job].items():
            frame = tables[table].select(columns)
            target = sql.Identifier("warehouse", table)
            cur.execute(sql.SQL("DELETE FROM {}").format(target))
            copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
                target, sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            with cur.copy(copy_sql) as copy:
                for row in frame.iter_rows():
                    copy.write_row(row)
            written += frame.height
        params: dict[str, Any] = {
            "job": job,
            "engine": engine,
            "started_at": started_at,
            "through_tx_id": through[0] if through else None,
            "through_position": through[1] if through else None,
            "rows": written,
        }
        cur.execute(RECORD_JOB_RUN, params)
    return written
