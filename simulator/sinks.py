"""Where a run's events go: a JSONL file (one wire-encoded event per line), or a sink handed
in by the caller (the composition root hands in ingest's Kafka producer; the simulator knows
no stage)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from learnstream.contracts import Envelope, encode_event

#: Sends events somewhere (Kafka, in the app) and returns how many it sent.
EventSink = Callable[[Iterable[Envelope]], int]


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
