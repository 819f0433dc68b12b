"""Running totals of an ingest run, per topic, for logs and the final summary."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, fields

from ingest.appender import AppendResult, DeadLetter
from learnstream.contracts import EVENT_TOPICS, Topic


@dataclass(slots=True)
class TopicTotals:
    batches: int = 0
    messages: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    suppressed: int = 0


@dataclass(slots=True)
class IngestSummary:
    """What an ingest run has done so far. Updated by the consumer after each commit."""

    topics: dict[Topic, TopicTotals] = field(
        default_factory=lambda: {topic: TopicTotals() for topic in EVENT_TOPICS}
    )
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)
    #: Dead letters kept in the table but not published to the topic (the broker refused the
    #: record for good; see ingest/consumer.py).
    dead_letters_unpublished: int = 0
    started_at: float = field(default_factory=time.monotonic)
    last_message_at: float = field(default_factory=time.monotonic)

    def record(
        self, topic: Topic, messages: int, result: AppendResult, dead_letters: list[DeadLetter]
    ) -> None:
        totals = self.topics[topic]
        totals.batches += 1
        totals.messages += messages
        totals.inserted += result.inserted
        totals.duplicates += result.duplicates
        totals.suppressed += result.suppressed
        totals.dead_lettered += len(dead_letters)
        self.dead_letter_reasons.update(str(d.reason) for d in dead_letters)

    def touch(self) -> None:
        """A message arrived (for idle detection)."""
        self.last_message_at = time.monotonic()

    @property
    def messages(self) -> int:
        return sum(t.messages for t in self.topics.values())

    @property
    def inserted(self) -> int:
        return sum(t.inserted for t in self.topics.values())

    @property
    def duplicates(self) -> int:
        return sum(t.duplicates for t in self.topics.values())

    @property
    def suppressed(self) -> int:
        """Events of erased learners dropped (:mod:`ingest.suppression`)."""
        return sum(t.suppressed for t in self.topics.values())

    @property
    def dead_lettered(self) -> int:
        return sum(t.dead_lettered for t in self.topics.values())


def merge_summaries(summaries: list[IngestSummary], started_at: float) -> IngestSummary:
    """One summary for several workers (``learnstream ingest --workers N``): totals added."""
    merged = IngestSummary(started_at=started_at)
    for summary in summaries:
        for topic, totals in summary.topics.items():
            into = merged.topics[topic]
            for counter in fields(TopicTotals):
                setattr(into, counter.name,
                        getattr(into, counter.name) + getattr(totals, counter.name))
        merged.dead_letter_reasons.update(summary.dead_letter_reasons)
        merged.dead_letters_unpublished += summary.dead_letters_unpublished
    return merged
