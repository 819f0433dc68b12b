"""Ingest: Kafka -> the append-only PostgreSQL log, exactly once in effect.

- :class:`Emitter` and :func:`produce`: send typed events to their topics (backends).
- :func:`ensure_topics`: create the event and dead-letter topics.
- :func:`append_batch`, :class:`AppendResult`, :class:`DeadLetter`: the idempotent appender.
- :class:`SourceOffset`: where a message came from.
- :func:`run_ingest`: the consumer loop behind ``learnstream ingest``.
- :func:`replay_dead_letters`, :class:`DeadLetterFilter`, :class:`ReplaySummary`: re-decode
  dead letters with today's contracts (``learnstream dead-letters replay``).
"""

from ingest.appender import AppendResult, DeadLetter, append_batch
from ingest.emitter import Emitter, produce
from ingest.errors import ConsumerFailed, IngestInterrupted
from ingest.replay import DeadLetterFilter, ReplaySummary, replay_dead_letters
from ingest.rows import SourceOffset
from ingest.runner import run_ingest
from ingest.topics import ensure_topics

__all__ = [
    "AppendResult",
    "ConsumerFailed",
    "DeadLetter",
    "DeadLetterFilter",
    "Emitter",
    "IngestInterrupted",
    "ReplaySummary",
    "SourceOffset",
    "append_batch",
    "ensure_topics",
    "produce",
    "replay_dead_letters",
    "run_ingest",
]
