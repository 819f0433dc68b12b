"""The kernel's identity rule (``learnstream.log.identity``) for the Polars engine: the SQL
engines use ``earliest_identifications_sql``; this is the same rule over a lazy frame of the
exported events, and the engines-agree tests hold the two to the same answer."""

from __future__ import annotations

import polars as pl

from learnstream.log import IDENTIFIED


def identities(events: pl.LazyFrame) -> pl.LazyFrame:
    """``session_id, identified_as``: each session's earliest identification, ordered by
    ``(occurred_at, event_id)``."""
    return (
        events.filter(
            (pl.col("event_type") == IDENTIFIED) & pl.col("learner_id").is_not_null()
        )
        .group_by("session_id")
        .agg(
            pl.col("learner_id")
            .sort_by(["occurred_at", "event_id"])
            .first()
            .alias("identified_as")
        )
    )

