"""Where a run's events go: a JSONL file (one wire-encoded event per line) or Kafka."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from learnstream.contracts import Envelope, encode_event
from learnstream.settings import Settings


def write_jsonl(events: Iterable[Envelope], path: Path) -> int:
    """Write ``events`` to ``path``, one ``encode_event`` per line; return how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("wb", buffering=1 << 20) as out:
        for event in events:
            out.write(encode_event(event))
            out.write(b"\n")
            count += 1
    return count


def produce(events: Iterable[Envelope], settings: Settings) -> int:
    """Send ``events`` to their topics (created if missing), in order; return how many."""
    from ingest.emitter import produce as send_all

    return send_all(settings, events)
