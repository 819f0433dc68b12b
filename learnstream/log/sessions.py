"""What a session is: THE inactivity rule, for every reader of the log.

Clients send a ``session_id``, but what it names varies: an app launch, a browser tab, or an
anonymous device id reused for days. Learnstream does not trust it to end: a session is a
run of a client session's events in which no two consecutive ones (by ``(occurred_at,
event_id)``) are more than :data:`SESSION_GAP` apart, the inactivity timeout web analytics
tools use. The client's id stays an attribute of each session; the n-th run of client id
``c`` is the session ``c:n``.

The rule depends only on the set of events, not on their arrival order, so rebuilds,
incremental folds and the warehouse agree. It is written once, as SQL valid in PostgreSQL
(the ``read.sessions`` view) and DuckDB (the warehouse).
"""

from __future__ import annotations

from datetime import timedelta

#: Longest silence inside one session; a longer one starts the next. The default of the
#: ``session_gap_minutes`` setting, which the projector and the warehouse pass on.
SESSION_GAP = timedelta(minutes=30)


def sessionized_sql(source: str, gap: timedelta = SESSION_GAP) -> str:
    """``source`` (a relation or subquery with ``session_id``, ``occurred_at`` and
    ``event_id``) with ``visit``: the 1-based ordinal of the session each row belongs to
    within its client ``session_id``. ``source`` is a constant of the calling module."""
    seconds = int(gap.total_seconds())
    return (
        "SELECT s.*, sum(s.opens) OVER (PARTITION BY s.session_id "
        "ORDER BY s.occurred_at, s.event_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        " AS visit FROM ("
        "SELECT src.*, CASE WHEN lag(src.occurred_at) OVER w IS NULL "
        f"OR src.occurred_at - lag(src.occurred_at) OVER w > INTERVAL '{seconds} seconds' "
        f"THEN 1 ELSE 0 END AS opens FROM ({source}) AS src "
        "WINDOW w AS (PARTITION BY src.session_id ORDER BY src.occurred_at, src.event_id)"
        ") AS s"
    )
