"""Dead-letter replay: re-decode stored raw bytes with today's contracts and append what
now passes, idempotently.

A dead letter is never edited (the log is append-only): each attempt appends its outcome to
``log.dead_letter_replays`` in the same transaction as the event it appended, so a crash
leaves either both or neither. The event keeps its ``event_id``, so replaying twice, or
replaying an event that was also resent, lands it once (the log's idempotency key); and it
keeps the dead letter's Kafka source, so its provenance stays the original message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingest.appender import append_batch
from ingest.batch import DecodeRules, logical_topic
from ingest.queries import RECORD_REPLAY, REPLAY_CANDIDATES
from ingest.rows import SourceOffset
from learnstream.contracts import decode_event
from learnstream.db import connect
from learnstream.errors import EventRejected
from learnstream.settings import Settings


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """Which dead letters a list or replay covers; ``None`` leaves a filter off."""

    reason: str | None = None
    topic: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None

    def params(self) -> dict[str, Any]:
        return {
            "reason": self.reason, "topic": self.topic, "since": self.since,
            "until": self.until, "status": self.status,
        }


@dataclass(slots=True)
class ReplaySummary:
    tried: int = 0
    appended: int = 0
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)


def replay_dead_letters(
    settings: Settings,
    where: DeadLetterFilter = DeadLetterFilter(),
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    chunk: int = 500,
    on_progress: Callable[[ReplaySummary], None] | None = None,
) -> ReplaySummary:
    """Replay every matching dead letter that was never appended. ``dry_run`` decodes and
    reports without writing anything."""
    rules = DecodeRules.from_settings(settings)
    summary = ReplaySummary()
    after = 0
    with connect(settings) as conn:
        while True:
            rows = conn.execute(
                REPLAY_CANDIDATES, {**where.params(), "after": after, "limit": chunk}
            ).fetchall()
            if not rows:
                return summary
            with conn.transaction(force_rollback=dry_run):
                for letter_id, raw, kafka_topic, partition, offset in rows:
                    after = letter_id
                    summary.tried += 1
                    outcome = _replay_one(
                        conn, settings, rules, bytes(raw),
                        SourceOffset(kafka_topic, partition, offset), now,
                    )
                    conn.execute(RECORD_REPLAY, {"id": letter_id, **outcome})
                    if outcome["outcome"] == "appended":
                        summary.appended += 1
                    elif outcome["outcome"] == "duplicate":
                        summary.duplicates += 1
                    else:
                        reason = str(outcome["reason"])
                        summary.rejected[reason] = summary.rejected.get(reason, 0) + 1
            if on_progress is not None:
                on_progress(summary)


def _replay_one(
    conn: Any,
    settings: Settings,
    rules: DecodeRules,
    raw: bytes,
    source: SourceOffset,
    now: datetime | None,
) -> dict[str, Any]:
    try:
        topic = logical_topic(settings, source.topic)
    except ValueError:
        topic = None  # a topic this deployment no longer has: decode without the check
    try:
        event = decode_event(
            raw, topic=topic, max_bytes=rules.max_bytes,
            max_future_skew=rules.max_future_skew, now=now,
        )
    except EventRejected as rejection:
        return {
            "outcome": "rejected", "reason": str(rejection.reason),
            "detail": rejection.detail, "event_id": rejection.event_id,
        }
    result = append_batch(conn, [(event, source)], pii=settings.privacy.pii)
    if result.suppressed:  # the learner was erased since: it stays out of the log
        return {
            "outcome": "rejected", "reason": "suppressed",
            "detail": "the learner or session was erased", "event_id": str(event.event_id),
        }
    return {
        "outcome": "appended" if result.inserted else "duplicate",
        "reason": None, "detail": None, "event_id": str(event.event_id),
    }
