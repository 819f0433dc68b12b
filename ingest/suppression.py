"""Events of erased learners are dropped at ingest, counted, never stored again.

After ``learnstream learner erase``, a client may retry an old batch or an operator may
replay a topic from Kafka: the events would come back. Each batch's transaction first takes
the suppression lock shared (the erasure takes it exclusive, so a batch either commits
before an erasure starts deleting, or reads a list that includes it), then drops every event
whose learner id or session id hashes to an entry of ``log.erasure_suppressions``. With an
empty list (the usual case) nothing is hashed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import psycopg

from learnstream.contracts import Envelope
from learnstream.log.erasure import LOCK_AND_COUNT_SUPPRESSIONS, READ_SUPPRESSIONS, subject_hash

T = TypeVar("T")


class Suppressions:
    """The suppression list as one connection last read it; read again when it grew."""

    def __init__(self) -> None:
        self._size = -1
        self._hashes: frozenset[str] = frozenset()

    def current(self, cur: psycopg.Cursor[Any]) -> frozenset[str]:
        """Lock (shared, until the transaction ends) and return the list."""
        row = cur.execute(LOCK_AND_COUNT_SUPPRESSIONS).fetchone()
        size = int(row[1]) if row else 0
        if size != self._size:
            self._hashes = frozenset(str(r[0]) for r in cur.execute(READ_SUPPRESSIONS))
            self._size = size
        return self._hashes


def drop_suppressed(
    events: Sequence[tuple[Envelope, T]], hashes: frozenset[str]
) -> tuple[list[tuple[Envelope, T]], int]:
    """``events`` without those of suppressed learners or sessions, and how many went."""
    if not hashes:
        return list(events), 0
    kept = [pair for pair in events if not _suppressed(pair[0], hashes)]
    return kept, len(events) - len(kept)


def _suppressed(event: Envelope, hashes: frozenset[str]) -> bool:
    # The erasure's own predicate: the learner's rows, and anonymous rows of their sessions.
    if event.learner_id:
        return subject_hash(event.learner_id) in hashes
    return subject_hash(event.session_id) in hashes
