"""Reads the log past a checkpoint without ever skipping an event. THE gap rule lives here.

Why a plain ``position > checkpoint`` reader loses events: ``position`` comes from a sequence,
and a transaction draws its numbers when it inserts but makes them visible when it commits.
Writer A draws position 10, writer B draws 11 and commits first; a reader that sees 11 and
moves its checkpoint to 11 will never look at 10 again once A commits. The event is skipped
forever, silently.

The rule: every log row carries ``tx_id`` (the inserting transaction's 64-bit ``xid8``). Read
rows in ``(tx_id, position)`` order, and only rows with
``tx_id < pg_snapshot_xmin(pg_current_snapshot())``. Every transaction below the snapshot's
xmin has finished (committed rows are visible to this statement, aborted ones never will
be), and every transaction still running, or not yet started, has an xid >= xmin. So the set
of rows at or below any checkpoint we hand out can never grow again, and a checkpoint kept as
the pair ``(tx_id, position)`` is exact: every row after it sorts after it.

The price is latency, not correctness: a long-running writer (or any transaction holding an
xid open) holds xmin back, and rows of later transactions wait until it finishes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import set_json_loads

from learnstream.contracts import Topic
from learnstream.log.tables import DEAD_LETTERS, LOG_TABLES

Connection = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True, order=True)
class Checkpoint:
    """A position in the log's read order ``(tx_id, position)``: every log row at or below it
    has been applied. ``Checkpoint.START`` is before every row."""

    tx_id: int
    position: int

    START: ClassVar[Checkpoint]


Checkpoint.START = Checkpoint(0, 0)


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One log row as its readers see it: the envelope columns, the full JSON payload and the
    context (both empty for rows of types the reader did not ask for)."""

    family: Topic
    position: int
    tx_id: int
    event_id: UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    received_at: datetime
    session_id: str
    learner_id: str | None
    content_id: str | None
    payload: Mapping[str, Any]
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.tx_id, self.position)

_COLUMNS = sql.SQL(
    "position, tx_id::text::bigint, event_id, event_type, schema_version, occurred_at, "
    "received_at, session_id, learner_id, content_id, "
    # Rows of types the projection does not read still move the checkpoint, but their
    # payload is not shipped.
    "CASE WHEN event_type = ANY(%(types)s) THEN payload END, "
    "CASE WHEN event_type = ANY(%(types)s) THEN context END"
)

#: The gap rule's visibility half: only rows of transactions below the snapshot's xmin, which
#: have all finished, so nothing can appear at or below them later.
READABLE_SQL = "tx_id < pg_snapshot_xmin(pg_current_snapshot())"

#: Rows at or below a bound that an earlier readable read handed out (rebuilds, refolds).
AT_OR_BELOW_SQL = "(tx_id, position) <= (%(tx)s::text::xid8, %(pos)s)"

#: The horizon of a bounded run (an export): the snapshot xmin, captured once at its start.
HORIZON_SQL = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def after_below_horizon_sql(qualifier: str = "") -> str:
    """The gap rule with the horizon pinned (``%(horizon)s``) instead of read live: rows after
    the checkpoint ``(%(tx)s, %(pos)s)`` of transactions below the horizon. ``qualifier``
    (e.g. ``"log.behavioral_events."``) names the table's own columns where output columns
    of the same name would shadow them."""
    q = qualifier
    return (
        f"{q}tx_id < %(horizon)s::text::xid8 "
        f"AND ({q}tx_id, {q}position) > (%(tx)s::text::xid8, %(pos)s::bigint)"
    )


# The gap rule, as a WHERE clause shared by the incremental reader, the rebuild frontier and
# the lag count. (tx_id, position) is indexed on every log table.
_AFTER = sql.SQL("(tx_id, position) > (%(tx)s::text::xid8, %(pos)s) AND " + READABLE_SQL)


def _family_order(families: Iterable[Topic]) -> list[Topic]:
    return sorted(families, key=lambda t: t.value)


def _over_log(families: Iterable[Topic], branch: str, outer: str, **parts: Any) -> sql.Composed:
    """``outer`` over the UNION ALL of ``branch`` run on each family's log table. ``branch``
    may use ``{table}`` and ``{fam}`` (the family's table and name) and ``parts``; ``outer``
    uses ``{}`` for the union."""
    branches = [
        sql.SQL(branch).format(
            table=sql.Identifier("log", LOG_TABLES[topic]), fam=sql.Literal(topic.value), **parts
        )
        for topic in _family_order(families)
    ]
    return sql.SQL(outer).format(sql.SQL(" UNION ALL ").join(branches))


def read_after_sql(families: Iterable[Topic]) -> sql.Composed:
    """The batch read: rows after a checkpoint, below xmin, in (tx_id, position) order."""
    return _over_log(
        families,
        "(SELECT {fam} AS family, {cols} FROM {table} WHERE {after} "
        "ORDER BY tx_id, position LIMIT %(limit)s)",
        "SELECT * FROM ({}) AS u ORDER BY 3, 2 LIMIT %(limit)s",
        cols=_COLUMNS,
        after=_AFTER,
    )


def frontier_sql(families: Iterable[Topic]) -> sql.Composed:
    """The highest (tx_id, position) that is safe to read now (or NULL if none is)."""
    return _over_log(
        families,
        "(SELECT tx_id::text::bigint, position FROM {table} WHERE " + READABLE_SQL + " "
        "ORDER BY tx_id DESC, position DESC LIMIT 1)",
        "SELECT * FROM ({}) AS u ORDER BY 1 DESC, 2 DESC LIMIT 1",
    )


def pending_sql(families: Iterable[Topic]) -> sql.Composed:
    """How many readable rows lie after a checkpoint, and the oldest one's received_at."""
    return _over_log(
        families,
        "(SELECT count(*) AS n, min(received_at) AS oldest FROM {table} WHERE {after})",
        "SELECT coalesce(sum(n), 0)::bigint, min(oldest) FROM ({}) AS u",
        after=_AFTER,
    )


def newest_append_sql() -> sql.Composed:
    """When the newest row of the log (any family, dead letters included) was received: the
    last batch ingest committed. Index-only per table (``(tx_id, position)``, ``id``)."""
    branches = [
        sql.SQL("(SELECT received_at FROM {} ORDER BY tx_id DESC, position DESC LIMIT 1)").format(
            sql.Identifier("log", LOG_TABLES[topic])
        )
        for topic in _family_order(LOG_TABLES)
    ]
    branches.append(
        sql.SQL("(SELECT received_at FROM {} ORDER BY id DESC LIMIT 1)").format(
            sql.Identifier("log", DEAD_LETTERS)
        )
    )
    return sql.SQL("SELECT max(received_at) FROM ({}) AS u").format(
        sql.SQL(" UNION ALL ").join(branches)
    )


def count_through_sql(families: Iterable[Topic]) -> sql.Composed:
    """How many rows of ``%(types)s`` lie at or below a bound handed out by this module."""
    return _over_log(
        families,
        "(SELECT count(*) AS n FROM {table} WHERE event_type = ANY(%(types)s) AND "
        + AT_OR_BELOW_SQL + ")",
        "SELECT coalesce(sum(n), 0)::bigint FROM ({}) AS u",
    )


def count_through(
    conn: Connection, families: Iterable[Topic], event_types: Iterable[str], upto: Checkpoint
) -> int:
    """The number of events of ``event_types`` at or below ``upto`` (a batch end or the
    :func:`frontier`): what a fold of the log up to there applies."""
    wanted = _family_order(set(families))
    if not wanted:
        return 0
    row = conn.execute(
        count_through_sql(wanted),
        {"types": sorted(frozenset(event_types)), "tx": str(upto.tx_id), "pos": upto.position},
    ).fetchone()
    assert row is not None
    return int(row[0])


def _params(after: Checkpoint, types: Iterable[str], limit: int = 0) -> dict[str, Any]:
    return {"tx": str(after.tx_id), "pos": after.position, "types": sorted(types), "limit": limit}


@dataclass(frozen=True, slots=True)
class Batch:
    """Rows read past a checkpoint: the events to apply, and the checkpoint after them
    (which also covers rows of types the projection ignores)."""

    events: list[LogEvent]
    end: Checkpoint
    rows_read: int


def read_batch(
    conn: Connection,
    after: Checkpoint,
    families: Iterable[Topic],
    event_types: Iterable[str],
    limit: int,
) -> Batch:
    """The next at most ``limit`` readable rows after ``after``, in read order."""
    types = frozenset(event_types)
    # orjson parses payloads several times faster than the json module (same values).
    set_json_loads(orjson.loads, conn)
    rows = conn.execute(
        read_after_sql(families), _params(after, types, limit), binary=True
    ).fetchall()
    events = [_event(r) for r in rows if r[4] in types]
    end = Checkpoint(rows[-1][2], rows[-1][1]) if rows else after
    return Batch(events, end, len(rows))


def frontier(conn: Connection, families: Iterable[Topic]) -> Checkpoint | None:
    """The highest checkpoint that is final now (nothing can appear at or below it later)."""
    row = conn.execute(frontier_sql(families)).fetchone()
    return None if row is None else Checkpoint(int(row[0]), int(row[1]))


def pending(conn: Connection, after: Checkpoint, families: Iterable[Topic]) -> tuple[int, Any]:
    """(readable rows after ``after``, received_at of the oldest of them or None)."""
    row = conn.execute(pending_sql(families), _params(after, ())).fetchone()
    assert row is not None
    return int(row[0]), row[1]


def read_through(
    conn: Connection,
    families: Iterable[Topic],
    event_types: Iterable[str],
    upto: Checkpoint,
    *,
    learners: Iterable[str] | None = None,
    sessions: Iterable[str] | None = None,
) -> list[LogEvent]:
    """The rows of ``event_types`` at or below ``upto``, in read order ``(tx_id, position)``
    across the log tables. ``upto`` must come from this module (a batch end or the
    :func:`frontier`), so the set is final. With ``learners``/``sessions``: only the rows of
    those learners and the anonymous rows of those sessions (refolds, ``learner explain``)."""
    types = sorted(frozenset(event_types))
    where = [sql.SQL("event_type = ANY(%(types)s)"), sql.SQL(AT_OR_BELOW_SQL)]
    params: dict[str, Any] = {"types": types, "tx": str(upto.tx_id), "pos": upto.position}
    if learners is not None or sessions is not None:
        where.append(sql.SQL(
            "(learner_id = ANY(%(learners)s) "
            "OR (learner_id IS NULL AND session_id = ANY(%(sessions)s)))"
        ))
        params["learners"] = sorted(set(learners or ()))
        params["sessions"] = sorted(set(sessions or ()))
    wanted = _family_order(set(families))
    if not wanted:
        return []
    query = _over_log(
        wanted,
        "(SELECT {fam} AS family, {cols} FROM {table} WHERE {where})",
        "SELECT * FROM ({}) AS u ORDER BY 3, 2",
        cols=_COLUMNS,
        where=sql.SQL(" AND ").join(where),
    )
    set_json_loads(orjson.loads, conn)
    rows = conn.execute(query, params, binary=True).fetchall()
    return [_event(r) for r in rows]


def _event(r: Any) -> LogEvent:
    return LogEvent(
        Topic(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11] or {},
        r[12] or {},
    )
