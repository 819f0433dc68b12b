"""Decode-and-split: one consumed Kafka batch becomes accepted events and dead letters.

Pure: no I/O, so the rules that decide what reaches the log are unit-tested directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ingest.appender import DeadLetter
from ingest.rows import SourceOffset
from learnstream.contracts import Envelope, Topic, decode_event
from learnstream.errors import EventRejected
from learnstream.settings import Settings


@dataclass(frozen=True, slots=True)
class ConsumedMessage:
    """One Kafka record as ingest needs it. ``source.topic`` is the physical topic name."""

    topic: Topic
    source: SourceOffset
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class AcceptedEvent:
    """A decoded event, with its raw bytes kept in case the database refuses the row."""

    event: Envelope
    source: SourceOffset
    raw: bytes
    key: bytes | None


@dataclass(slots=True)
class DecodedBatch:
    """The two halves of a consumed batch, in consumption order."""

    accepted: list[AcceptedEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def events(self) -> list[tuple[Envelope, SourceOffset]]:
        """``(event, source)`` pairs, the shape ``append_batch`` takes."""
        return [(a.event, a.source) for a in self.accepted]

    def __len__(self) -> int:
        return len(self.accepted) + len(self.dead_letters)


@dataclass(frozen=True, slots=True)
class DecodeRules:
    """The limits a message is checked against (from ``Settings``)."""

    max_bytes: int
    max_future_skew: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> DecodeRules:
        return cls(
            max_bytes=settings.ingest.max_event_bytes,
            max_future_skew=timedelta(seconds=settings.ingest.max_future_skew_seconds),
        )


def decode_batch(
    messages: Iterable[ConsumedMessage], rules: DecodeRules, *, now: datetime | None = None
) -> DecodedBatch:
    """Decode every message; a rejected one becomes a :class:`DeadLetter` with its reason."""
    batch = DecodedBatch()
    for message in messages:
        try:
            event = decode_event(
                message.value,
                topic=message.topic,
                max_bytes=rules.max_bytes,
                max_future_skew=rules.max_future_skew,
                now=now,
            )
        except EventRejected as rejection:
            batch.dead_letters.append(
                DeadLetter.from_rejection(rejection, message.value, message.key, message.source)
            )
        else:
            batch.accepted.append(AcceptedEvent(event, message.source, message.value, message.key))
    return batch


def logical_topic(settings: Settings, physical: str) -> Topic:
    """The logical topic of a physical (possibly namespaced) topic name."""
    namespace = settings.topic_namespace
    if namespace and physical.startswith(namespace):
        physical = physical[len(namespace) :]
    return Topic(physical)
