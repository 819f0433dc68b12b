"""Who an event belongs to: THE identity rule, for every reader of the log.

An event's subject is its ``learner_id``; else the learner its session was identified as;
else its ``session_id`` (an anonymous learner). A session is identified as the learner of its
*earliest* ``learner.identified`` event, ordered by ``(occurred_at, event_id)``.

Why the earliest and not the latest: identifications arrive late and out of order (offline
clients, retries). "Earliest by occurred_at, ties by event_id" is a total order that does not
depend on arrival order, so a rebuild, an incremental fold in any batch sizes, and a warehouse
job all agree. A session identified as two different learners (a shared device) stays with
the first; later identifications of it change nothing.

The rule is written once here, in Python for the folds and as one SQL query that runs
unchanged on PostgreSQL (the log) and DuckDB (the warehouse's ``events`` view).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol
from uuid import UUID

IDENTIFIED = "learner.identified"


class _Identifiable(Protocol):
    @property
    def learner_id(self) -> str | None: ...

    @property
    def session_id(self) -> str: ...


def identity_order(occurred_at: datetime, event_id: UUID | str) -> tuple[datetime, str]:
    """The sort key of identifications: earlier wins."""
    return (occurred_at, str(event_id))


def is_earlier(
    candidate: tuple[datetime, UUID | str], known: tuple[datetime, UUID | str] | None
) -> bool:
    """Does an identification at ``candidate`` = (occurred_at, event_id) replace ``known``?"""
    return known is None or identity_order(*candidate) < identity_order(*known)


def subject_of(event: _Identifiable, identities: Mapping[str, str] | None = None) -> str:
    """The row an event counts for: learner, else the session's learner, else the session."""
    if event.learner_id:
        return event.learner_id
    return (identities or {}).get(event.session_id, event.session_id)


def earliest_identifications_sql(source: str, where: str = "TRUE") -> str:
    """SELECT session_id, learner_id, identified_at, event_id: each session's earliest
    identification among the rows of ``source`` (a table or view with the log's columns)
    that satisfy ``where``. Valid PostgreSQL and DuckDB; ``source`` and ``where`` are
    constants of the calling module, never user input."""
    return (
        "SELECT DISTINCT ON (session_id) session_id, learner_id, "
        "occurred_at AS identified_at, event_id "
        f"FROM {source} "
        f"WHERE event_type = '{IDENTIFIED}' AND learner_id IS NOT NULL AND ({where}) "
        "ORDER BY session_id, occurred_at, event_id"
    )
