"""A token bucket per write key: ``rate`` requests per second on average, ``burst`` at once.

Counted per request, not per event: the batch size is bounded separately, and a client
that batches well should not be punished for it."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self._rate = rate
        self._burst = float(max(burst, 1))
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, when)

    def allow(self, key_id: int) -> bool:
        """Take one token for ``key_id``; False when its bucket is empty (429)."""
        if self._rate <= 0:
            return True
        now = self._clock()
        tokens, when = self._buckets.get(key_id, (self._burst, now))
        tokens = min(self._burst, tokens + (now - when) * self._rate)
        if tokens < 1.0:
            self._buckets[key_id] = (tokens, now)
            return False
        self._buckets[key_id] = (tokens - 1.0, now)
        return True
