"""Ingest: Kafka -> the append-only PostgreSQL log, exactly once in effect.

Public API (imported lazily so ``learnstream --help`` does not pay for Kafka clients):

- :class:`Emitter` (``ingest.emitter``): send typed events to their topics.
- :func:`ensure_topics` (``ingest.topics``): create the event and dead-letter topics.
- :func:`append_batch`, :class:`AppendResult`, :class:`DeadLetter` (``ingest.appender``).
- :class:`SourceOffset` (``ingest.rows``): where a message came from.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "AppendResult": "ingest.appender",
    "DeadLetter": "ingest.appender",
    "Emitter": "ingest.emitter",
    "SourceOffset": "ingest.rows",
    "append_batch": "ingest.appender",
    "ensure_topics": "ingest.topics",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ingest' has no attribute {name!r}")
    return getattr(import_module(module), name)
