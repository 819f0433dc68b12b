"""Exponential backoff for retrying a batch while PostgreSQL or Kafka is unavailable."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays ``initial, initial*factor, ...`` capped at ``maximum`` seconds, forever.

    There is no attempt limit on purpose: giving up would mean skipping the batch (loss)
    or crashing into the same wait after a restart; waiting keeps the offsets uncommitted.
    """

    initial: float = 0.1
    maximum: float = 30.0
    factor: float = 2.0

    def delays(self) -> Iterator[float]:
        delay = self.initial
        while True:
            yield min(delay, self.maximum)
            delay = min(delay * self.factor, self.maximum)
