"""Exceptions of the collector stage; the whole tree is drawn in :mod:`learnstream.errors`."""

from __future__ import annotations

from learnstream.errors import LearnstreamError


class CollectorError(LearnstreamError):
    """Base of the collector's own errors."""


class UnknownWriteKey(CollectorError):
    """No active write key matches what was asked for (``keys revoke``)."""


class RequestRejected(CollectorError):
    """A request the collector answers with a 4xx as a whole (its body cannot be read, its
    key is wrong, ...): ``status`` is the HTTP status, ``code`` a stable machine name."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


class CollectorOverloaded(CollectorError):
    """More events wait for Kafka's acknowledgement than ``max_in_flight_events``: the
    request is refused with 503 instead of queueing without bound."""


__all__ = ["CollectorError", "CollectorOverloaded", "RequestRejected", "UnknownWriteKey"]
