"""How events reach the broker: mostly in the order they happened, but client retries
resend some (exact duplicates, same event_id), offline buffering delays some by seconds to
hours (out of order), and a few arrive days late. Only the *emitted order* changes;
``occurred_at`` always stays the true client time.

Events wait in a heap keyed by delivery time and are released once the simulation's clock
(the watermark) has passed them, so memory holds about one day of events, not the run.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass

from learnstream.contracts import Envelope, Topic


@dataclass(slots=True)
class DeliveryStats:
    """What the delivery imperfections did. Rates are relative to ``client_events``."""

    originals: int = 0
    client_events: int = 0
    duplicates: int = 0
    reordered: int = 0
    late: int = 0
    emitted: int = 0


class Delivery:
    """Turns events in occurred order into events in delivered (emitted) order."""

    def __init__(
        self,
        rng: random.Random,
        *,
        duplicate_rate: float,
        out_of_order_rate: float,
        late_rate: float,
    ) -> None:
        self._rng = rng
        self._duplicate_rate = duplicate_rate
        self._out_of_order_rate = out_of_order_rate
        self._late_rate = late_rate
        self._heap: list[tuple[float, int, Envelope]] = []
        self._seq = 0
        self.stats = DeliveryStats()

    def submit(self, occurred: float, event: Envelope) -> None:
        """Schedule ``event`` (which occurred at epoch seconds ``occurred``) for delivery."""
        rng = self._rng
        stats = self.stats
        stats.originals += 1
        delivered = occurred
        # The catalog is written by our own services through the broker, never buffered on a
        # phone: it is only ever duplicated (producer retry), never delayed. Downstream joins
        # behaviour to content, so content.generated must precede the plays of that content.
        if event.topic is not Topic.CATALOG:
            stats.client_events += 1
            x = rng.random()
            if x < self._late_rate:
                stats.late += 1
                delivered += rng.uniform(1.0, 3.0) * 86_400.0
            elif x < self._late_rate + self._out_of_order_rate:
                stats.reordered += 1
                delivered += offline_delay(rng)
        self._push(delivered, event)
        if rng.random() < self._duplicate_rate:
            stats.duplicates += 1
            self._push(delivered + rng.uniform(0.2, 60.0), event)

    def release(self, watermark: float) -> Iterator[Envelope]:
        """Emit every event due before ``watermark`` (no later submit may occur before it)."""
        heap = self._heap
        while heap and heap[0][0] < watermark:
            self.stats.emitted += 1
            yield heapq.heappop(heap)[2]

    def drain(self) -> Iterator[Envelope]:
        """Emit everything still waiting (late events scheduled past the end of the run)."""
        return self.release(float("inf"))

    def _push(self, delivered: float, event: Envelope) -> None:
        # The sequence number breaks ties deterministically (and keeps Envelopes uncompared).
        self._seq += 1
        heapq.heappush(self._heap, (delivered, self._seq, event))


def offline_delay(rng: random.Random) -> float:
    """Seconds an offline-buffered event waits: mostly seconds, sometimes minutes or hours."""
    x = rng.random()
    if x < 0.6:
        return rng.uniform(5.0, 120.0)
    if x < 0.95:
        return rng.uniform(120.0, 3600.0)
    return rng.uniform(3600.0, 6 * 3600.0)
