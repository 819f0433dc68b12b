"""Knowledge-tracing files as ``assessment.submitted`` events.

Format (tab-separated, header): ``user_id item_id timestamp correct skill_id``; rows are in
answer order per user (timestamp 0 where the source has none). Each row becomes one
:class:`AssessmentSubmitted` (learner = user, assessment = item, skills = [skill],
score = correct, max_score = 1), so replaying a file exercises the live code path.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from learner_model.errors import DatasetFormatError
from learnstream.contracts import AssessmentSubmitted, AssessmentSubmittedPayload

KT_COLUMNS = ("user_id", "item_id", "timestamp", "correct", "skill_id")
_NAMESPACE = uuid.UUID("6b1f0c4e-8a57-4c1e-9a52-6c6b7f1f2a10")
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def read_kt_file(path: Path, limit_learners: int | None = None) -> pl.DataFrame:
    """The file as a frame with a ``seq`` column (file order), validated."""
    try:
        df = pl.read_csv(path, separator="\t", schema_overrides={
            "user_id": pl.String, "item_id": pl.String, "skill_id": pl.String,
            "timestamp": pl.Int64, "correct": pl.Int64})
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DatasetFormatError(f"{path}: {exc}") from exc
    missing = [c for c in KT_COLUMNS if c not in df.columns]
    if missing:
        raise DatasetFormatError(f"{path}: missing columns {missing}")
    if not df["correct"].is_in([0, 1]).all():
        raise DatasetFormatError(f"{path}: 'correct' must be 0 or 1")
    df = df.with_row_index("seq").with_columns(pl.col("seq").cast(pl.Int64))
    if limit_learners is not None:
        keep = df["user_id"].unique(maintain_order=True).head(limit_learners)
        df = df.filter(pl.col("user_id").is_in(keep.implode()))
    return df


def kt_events(df: pl.DataFrame, dataset: str) -> Iterator[AssessmentSubmitted]:
    """One validated event per row, in file order. Timestamps are synthesised one second
    apart where the file has none, so order is preserved."""
    attempts: dict[tuple[str, str], int] = {}
    for seq, user, item, ts, correct, skill in df.select(
            "seq", "user_id", "item_id", "timestamp", "correct", "skill_id").iter_rows():
        key = (user, item)
        attempts[key] = attempts.get(key, 0) + 1
        occurred = (datetime.fromtimestamp(ts, UTC) if ts else _EPOCH + timedelta(seconds=seq))
        yield AssessmentSubmitted(
            event_id=uuid.uuid5(_NAMESPACE, f"{dataset}:{seq}"),
            occurred_at=occurred,
            session_id=f"kt-{user}",
            learner_id=user,
            content_id=item,
            payload=AssessmentSubmittedPayload(
                assessment_id=item,
                skills=[skill] if skill is not None else [],
                score=float(correct),
                max_score=1.0,
                attempt_number=min(attempts[key], 10_000),
            ),
        )
