"""Counters and one latency histogram in the Prometheus text format (version 0.0.4).

Written by hand: the collector needs a handful of series, and a client library would be a
dependency for a few dozen lines of text."""

from __future__ import annotations

from collections import Counter

#: Upper bounds (seconds) of the produce-latency histogram.
LATENCY_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                      0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """What ``/metrics`` reports. Single-threaded (the event loop), so no locks."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, int]] = Counter()  # (outcome code, status)
        self.events: Counter[tuple[str, str]] = Counter()    # (outcome, reason)
        self.latency_counts = [0] * len(LATENCY_BUCKETS)
        self.latency_sum = 0.0
        self.latency_total = 0

    def request(self, code: str, status: int) -> None:
        self.requests[(code, status)] += 1

    def event(self, outcome: str, reason: str = "", count: int = 1) -> None:
        if count:
            self.events[(outcome, reason)] += count

    def produced(self, seconds: float) -> None:
        self.latency_sum += seconds
        self.latency_total += 1
        for index, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.latency_counts[index] += 1

    def render(self, in_flight: int) -> str:
        lines = [
            "# HELP learnstream_collector_requests_total HTTP requests to /v1/events by outcome.",
            "# TYPE learnstream_collector_requests_total counter",
        ]
        for (code, status), value in sorted(self.requests.items()):
            lines.append(f'learnstream_collector_requests_total{{outcome="{code}",'
                         f'status="{status}"}} {value}')
        lines += [
            "# HELP learnstream_collector_events_total Events by outcome and rejection reason.",
            "# TYPE learnstream_collector_events_total counter",
        ]
        for (outcome, reason), value in sorted(self.events.items()):
            lines.append(f'learnstream_collector_events_total{{outcome="{outcome}",'
                         f'reason="{reason}"}} {value}')
        lines += [
            "# HELP learnstream_collector_produce_seconds Time until Kafka acknowledged a "
            "request's events.",
            "# TYPE learnstream_collector_produce_seconds histogram",
        ]
        for bound, value in zip(LATENCY_BUCKETS, self.latency_counts, strict=True):
            lines.append(f'learnstream_collector_produce_seconds_bucket{{le="{bound:g}"}} {value}')
        lines += [
            f'learnstream_collector_produce_seconds_bucket{{le="+Inf"}} {self.latency_total}',
            f"learnstream_collector_produce_seconds_sum {self.latency_sum:.6f}",
            f"learnstream_collector_produce_seconds_count {self.latency_total}",
            "# HELP learnstream_collector_in_flight_events Events waiting for Kafka's "
            "acknowledgement.",
            "# TYPE learnstream_collector_in_flight_events gauge",
            f"learnstream_collector_in_flight_events {in_flight}",
        ]
        return "\n".join(lines) + "\n"
