"""Ingest: Kafka -> the append-only PostgreSQL log, exactly once in effect.

- :class:`Emitter` and :func:`produce`: send typed events to their topics (backends).
- :func:`ensure_topics`: create the event and dead-letter topics.
- :func:`append_batch`, :class:`AppendResult`, :class:`DeadLetter`: the idempotent appender.
- :class:`SourceOffset`: where a message came from.
- :func:`run_ingest`: the consumer loop behind ``learnstream ingest``.
"""

from ingest.appender import AppendResult, DeadLetter, append_batch
from ingest.emitter import Emitter, produce
from ingest.errors import ConsumerFailed, IngestInterrupted
from ingest.rows import SourceOffset
from ingest.runner import run_ingest
from ingest.topics import ensure_topics

__all__ = [
    "AppendResult",
    "ConsumerFailed",
    "DeadLetter",
    "Emitter",
    "IngestInterrupted",
    "SourceOffset",
    "append_batch",
    "ensure_topics",
    "produce",
    "run_ingest",
]
