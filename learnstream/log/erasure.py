"""What belongs to a learner in the log, and THE way to delete it.

The log is append-only for everyone (migration 0002); an erasure goes through one audited
database function, ``log.erase_learner`` (migration 0011), callable only by the
``learnstream_eraser`` role. This module decides *what* it is given:

- the learner's own rows (``learner_id``);
- the anonymous rows (``learner_id IS NULL``) of the learner's sessions: those the identity
  rule (:mod:`learnstream.log.identity`, the earliest ``learner.identified``) stitches to the
  learner, and those the learner's own rows name unless the rule gives them to another
  learner (a shared device stays with whoever identified first);
- dead letters whose raw bytes, key or detail hold the id or one of those session ids as a
  JSON string (the needle is the quoted string, so the id ``a1`` does not match ``"a12"``).

Receipts and the suppression list store :func:`subject_hash` of the ids, never the ids.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from learnstream.log.identity import earliest_identifications_sql
from learnstream.log.tables import DEAD_LETTER_REPLAYS, DEAD_LETTERS, LOG_TABLES

#: Domain prefix of the hash, so a Learnstream subject hash is not a bare SHA-256 of an id.
_HASH_PREFIX = b"learnstream-subject:"

#: The role that may call the erasure and retention functions (migration 0011).
ERASER_ROLE = "learnstream_eraser"


def subject_hash(identifier: str) -> str:
    """The hash stored instead of a learner or session id (receipts, suppression list).
    SHA-256 over a fixed prefix: stable across deployments so a suppression survives a
    restore. It hides an opaque id (a UUID) but not a guessable one (an e-mail address):
    clients should send opaque ids."""
    return hashlib.sha256(_HASH_PREFIX + identifier.encode()).hexdigest()


def json_needles(identifiers: Iterable[str]) -> list[bytes]:
    """Each id as a JSON string in the spellings a client may send (UTF-8 as is, or with
    \\u escapes), for matching raw message bytes."""
    out: dict[bytes, None] = {}
    for ident in identifiers:
        for ascii_only in (False, True):
            out[json.dumps(ident, ensure_ascii=ascii_only).encode()] = None
    return list(out)


#: The learner's sessions: stitched to them by the identity rule, or named by their own rows
#: and not stitched to someone else.
SESSIONS_OF_LEARNER = (
    "WITH ident AS (" + earliest_identifications_sql("log.catalog_events") + ") "
    "SELECT session_id FROM ident WHERE learner_id = %(learner)s "
    "UNION "
    "SELECT own.session_id FROM ("
    + " UNION ".join(
        f"SELECT session_id FROM log.{t} WHERE learner_id = %(learner)s"
        for t in LOG_TABLES.values()
    )
    + ") AS own "
    "WHERE NOT EXISTS (SELECT 1 FROM ident i WHERE i.session_id = own.session_id "
    "AND i.learner_id <> %(learner)s) "
    "ORDER BY 1"
)

#: Rows of one log table that an erasure removes (the same predicate as the function's).
_COUNT_EVENTS = (
    "SELECT count(*) FROM {} WHERE learner_id = %s "
    "OR (learner_id IS NULL AND session_id = ANY(%s))"
)

#: Dead letters an erasure removes (the same predicate as the function's).
_ERASED_LETTERS = (
    f"SELECT d.id FROM log.{DEAD_LETTERS} d WHERE EXISTS ("
    "SELECT 1 FROM unnest(%s::bytea[]) AS n(needle) "
    "WHERE position(n.needle IN d.raw) > 0 "
    "OR position(n.needle IN coalesce(d.kafka_key, ''::bytea)) > 0 "
    "OR position(convert_from(n.needle, 'UTF8') IN d.detail) > 0)"
)
COUNT_DEAD_LETTERS = f"SELECT count(*) FROM ({_ERASED_LETTERS}) AS e"
#: Their replays (``log.dead_letter_replays``) go with them.
COUNT_DEAD_LETTER_REPLAYS = (
    f"SELECT count(*) FROM log.{DEAD_LETTER_REPLAYS} r "
    f"WHERE r.dead_letter_id IN ({_ERASED_LETTERS})"
)

COUNT_LEARNER_DIFFICULTY = "SELECT count(*) FROM warehouse.learner_difficulty WHERE learner_id = %s"

ERASE_LEARNER = "SELECT log.erase_learner(%s, %s, %s, %s, %s)"

RECORD_FILES = "INSERT INTO log.erasure_files (erasure_id, files) VALUES (%s, %s::jsonb)"

#: The receipt, as stored (no PII).
RECEIPT = (
    "SELECT id, kind, subject_hash, policy, rows, performed_at, performed_by "
    "FROM log.erasures WHERE id = %s"
)


@dataclass(frozen=True, slots=True)
class ErasurePlan:
    """What an erasure of one learner removes from PostgreSQL: rows per table."""

    learner_id: str
    session_ids: tuple[str, ...]
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def identifiers(self) -> tuple[str, ...]:
        """The learner id and its session ids: what must leave no trace."""
        return (self.learner_id, *self.session_ids)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def plan_erasure(conn: psycopg.Connection[Any], learner_id: str) -> ErasurePlan:
    """Find what belongs to ``learner_id`` (read-only; the dry run prints this)."""
    sessions = tuple(
        str(r[0]) for r in conn.execute(SESSIONS_OF_LEARNER, {"learner": learner_id})
    )
    rows: dict[str, int] = {}
    for table in LOG_TABLES.values():
        query = sql.SQL(_COUNT_EVENTS).format(sql.Identifier("log", table))
        rows[table] = _count(conn, query, (learner_id, list(sessions)))
    needles = json_needles((learner_id, *sessions))
    rows[DEAD_LETTERS] = _count(conn, COUNT_DEAD_LETTERS, (needles,))
    rows[DEAD_LETTER_REPLAYS] = _count(conn, COUNT_DEAD_LETTER_REPLAYS, (needles,))
    rows["warehouse.learner_difficulty"] = _count(conn, COUNT_LEARNER_DIFFICULTY, (learner_id,))
    return ErasurePlan(learner_id, sessions, rows)


def _count(conn: psycopg.Connection[Any], query: Any, params: Sequence[Any]) -> int:
    row = conn.execute(query, params).fetchone()
    return int(row[0]) if row else 0


def erase_from_log(conn: psycopg.Connection[Any], plan: ErasurePlan) -> int:
    """Delete what ``plan`` names through the audited function, in the caller's
    transaction; return the receipt id. The connection must hold the eraser role."""
    row = conn.execute(
        ERASE_LEARNER,
        (
            plan.learner_id,
            subject_hash(plan.learner_id),
            list(plan.session_ids),
            [subject_hash(s) for s in plan.session_ids],
            json_needles(plan.identifiers),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def record_files(conn: psycopg.Connection[Any], erasure_id: int, files: Sequence[Any]) -> None:
    """Append to the receipt the warehouse files the erasure rewrote (paths, row counts)."""
    conn.execute(RECORD_FILES, (erasure_id, json.dumps(list(files))))

#: The advisory lock that orders erasures and ingest batches: ``log.erase_learner`` takes it
#: exclusive (migration 0011 spells the same number), each ingest batch shared.
SUPPRESSION_LOCK = 7_301_013

#: Taken by each ingest batch (see :data:`SUPPRESSION_LOCK`), in the same round trip as the
#: list's size: the list only grows (append-only), so its size says whether a cached copy
#: is current.
LOCK_AND_COUNT_SUPPRESSIONS = (
    f"SELECT pg_advisory_xact_lock_shared({SUPPRESSION_LOCK}), "
    "(SELECT count(*) FROM log.erasure_suppressions)"
)
READ_SUPPRESSIONS = "SELECT subject_hash FROM log.erasure_suppressions"
