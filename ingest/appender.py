"""Appends one consumed batch to the log in one transaction: accepted events to their
family tables, rejected messages to ``log.dead_letters``. Idempotent, so a batch that is
redelivered after a crash (database committed, Kafka offsets not yet) changes nothing."""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import psycopg

from ingest.queries import APPEND_DEAD_LETTERS, APPEND_EVENTS, STAGED_APPEND, staged_types
from ingest.rows import SourceOffset, columns_of, log_row
from ingest.suppression import Suppressions, drop_suppressed
from learnstream.contracts import Envelope, Topic
from learnstream.contracts.pii import PiiMode, redacted
from learnstream.errors import EventRejected, RejectionReason


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that was not accepted, with why and everything needed to replay it."""

    reason: RejectionReason
    detail: str
    raw: bytes
    key: bytes | None
    source: SourceOffset
    event_id: str | None = None
    event_type: str | None = None

    @classmethod
    def from_rejection(
        cls, exc: EventRejected, raw: bytes, key: bytes | None, source: SourceOffset
    ) -> DeadLetter:
        return cls(exc.reason, exc.detail, raw, key, source, exc.event_id, exc.event_type)


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one batch did to the log."""

    inserted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    #: Events of erased learners, dropped (:mod:`ingest.suppression`).
    suppressed: int = 0

    def __add__(self, other: AppendResult) -> AppendResult:
        return AppendResult(
            self.inserted + other.inserted,
            self.duplicates + other.duplicates,
            self.dead_lettered + other.dead_lettered,
            self.suppressed + other.suppressed,
        )


def _no_nul(text: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; hostile input may contain it.
    return None if text is None else text.replace("\x00", "\\u0000")


#: How events are written: ``copy`` (COPY BINARY into a per-connection staging table, then
#: one INSERT ... SELECT ... ON CONFLICT DO NOTHING) or ``unnest`` (one INSERT ... SELECT
#: FROM unnest(arrays) ON CONFLICT DO NOTHING). Both are idempotent the same way.
WriteMethod = Literal["copy", "unnest"]

#: The staging tables already created on each connection (temporary tables live as long as
#: their connection).
_STAGED: weakref.WeakKeyDictionary[psycopg.Connection[Any], set[Topic]] = (
    weakref.WeakKeyDictionary()
)


def _append_staged(cur: psycopg.Cursor[Any], topic: Topic, rows: list[tuple[Any, ...]]) -> int:
    create, copy_sql, insert = STAGED_APPEND[topic]
    created = _STAGED.setdefault(cur.connection, set())
    if topic not in created:
        cur.execute(create)
        created.add(topic)
    try:
        with cur.copy(copy_sql) as copy:
            copy.set_types(staged_types(topic))
            for row in rows:
                copy.write_row(row)
    except OverflowError as exc:  # an int wider than bigint: the row's values, not the server
        raise psycopg.DataError(f"a value does not fit its column: {exc}") from exc
    cur.execute(insert)
    return cur.rowcount


def append_batch(
    conn: psycopg.Connection[Any],
    events: Sequence[tuple[Envelope, SourceOffset]],
    dead_letters: Sequence[DeadLetter] = (),
    suppressions: Suppressions | None = None,
    pii: PiiMode = "keep",
    *,
    method: WriteMethod = "copy",
) -> AppendResult:
    """Write ``events`` and ``dead_letters`` in one transaction; return the counts. Events
    of erased learners are dropped first (a fresh :class:`Suppressions` when none given),
    and the fields the contracts mark as PII are kept, hashed or dropped (``pii``)."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        # Inside a caller's transaction, this one is a savepoint, and staged rows would
        # stay in the staging table until the outer commit: the next call in the same
        # transaction would move them again. The stateless statement is used instead.
        method = "unnest"
    try:
        return _append(conn, events, dead_letters, suppressions, pii, method)
    except BaseException:
        # A rolled-back transaction takes a staging table it created with it.
        _STAGED.pop(conn, None)
        raise


def _rows_by_topic(
    events: Sequence[tuple[Envelope, SourceOffset]],
) -> tuple[dict[Topic, list[tuple[Any, ...]]], int]:
    by_topic: dict[Topic, list[tuple[Any, ...]]] = defaultdict(list)
    seen: set[Any] = set()
    in_batch_duplicates = 0
    for event, source in events:
        if event.event_id in seen:
            in_batch_duplicates += 1
            continue
        seen.add(event.event_id)
        by_topic[event.topic].append(log_row(event, source))
    return by_topic, in_batch_duplicates


def _append(
    conn: psycopg.Connection[Any],
    events: Sequence[tuple[Envelope, SourceOffset]],
    dead_letters: Sequence[DeadLetter],
    suppressions: Suppressions | None,
    pii: PiiMode,
    method: WriteMethod,
) -> AppendResult:
    inserted = 0
    dead_lettered = 0
    with conn.transaction(), conn.cursor() as cur:
        suppressed = 0
        if events:  # a batch of dead letters only needs no list (nor a round trip)
            hashes = (suppressions or Suppressions()).current(cur)
            events, suppressed = drop_suppressed(events, hashes)
        if pii != "keep":
            events = [(redacted(event, pii), source) for event, source in events]
        by_topic, in_batch_duplicates = _rows_by_topic(events)
        for topic, rows in by_topic.items():
            if method == "copy":
                inserted += _append_staged(cur, topic, rows)
                continue
            arrays = [list(column) for column in zip(*rows, strict=True)]
            assert len(arrays) == len(columns_of(topic))
            cur.execute(APPEND_EVENTS[topic], arrays)
            inserted += cur.rowcount
        if dead_letters:
            cur.execute(
                APPEND_DEAD_LETTERS,
                [
                    [str(d.reason) for d in dead_letters],
                    [_no_nul(d.detail) for d in dead_letters],
                    [_no_nul(d.event_id) for d in dead_letters],
                    [_no_nul(d.event_type) for d in dead_letters],
                    [d.raw for d in dead_letters],
                    [len(d.raw) for d in dead_letters],
                    [d.key for d in dead_letters],
                    [d.source.topic for d in dead_letters],
                    [d.source.partition for d in dead_letters],
                    [d.source.offset for d in dead_letters],
                ],
            )
            dead_lettered = cur.rowcount
    accepted = sum(len(rows) for rows in by_topic.values())
    return AppendResult(
        inserted, accepted - inserted + in_batch_duplicates, dead_lettered, suppressed
    )
