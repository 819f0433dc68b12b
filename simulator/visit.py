"""One app visit (a client session): the clock that advances through it and the events it
records, all sharing one session_id, learner_id and client context."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from learnstream.contracts import Envelope, EventContext, Payload
from simulator.ids import event_uuid
from simulator.world import Learner

E = TypeVar("E", bound=Envelope)


def timestamp(ts: float) -> datetime:
    """Epoch seconds (already rounded to the millisecond, like client clocks) -> UTC datetime."""
    return datetime.fromtimestamp(ts, UTC)


class Visit:
    """Records events at ``clock`` (epoch seconds), which callers advance as time passes."""

    __slots__ = ("clock", "context", "events", "learner", "learner_id", "session_id")

    def __init__(
        self,
        learner: Learner,
        session_id: str,
        learner_id: str | None,
        context: EventContext,
        clock: float,
    ) -> None:
        self.learner = learner
        self.session_id = session_id
        self.learner_id = learner_id
        self.context = context
        self.clock = clock
        self.events: list[tuple[float, Envelope]] = []

    def record(
        self,
        cls: type[E],
        payload: Payload,
        content_id: str | None = None,
        *,
        session_id: str | None = None,
        learner_id: str | None = None,
    ) -> E:
        """Record one event of type ``cls`` at the current clock and return it."""
        ts = round(self.clock, 3)
        # Concrete event classes default event_type; mypy only sees the base signature.
        event = cls(  # type: ignore[call-arg]
            event_id=event_uuid(self.learner.rng),
            occurred_at=timestamp(ts),
            session_id=session_id or self.session_id,
            learner_id=learner_id or self.learner_id,
            content_id=content_id,
            payload=payload,
            context=self.context,
        )
        self.events.append((ts, event))
        return event

    def wait(self, seconds: float) -> None:
        self.clock += seconds
