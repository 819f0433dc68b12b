"""The one converter from a log row to its typed event. Every reader that needs an
:class:`~learnstream.contracts.Envelope` (the learner model's fold, training, explain) uses it,
so a row means the same event everywhere, context included."""

from __future__ import annotations

from learnstream.contracts import EVENT_TYPES, Envelope
from learnstream.log.reader import LogEvent


def envelope_of(event: LogEvent) -> Envelope:
    """The typed event of a log row. The log holds only validated events, so this cannot fail
    for rows that ingest wrote (a failure means the contracts lost a type the log holds)."""
    cls = EVENT_TYPES[event.event_type]
    return cls.model_validate({
        "event_id": event.event_id,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "occurred_at": event.occurred_at,
        "session_id": event.session_id,
        "learner_id": event.learner_id,
        "content_id": event.content_id,
        "context": dict(event.context),
        "payload": dict(event.payload),
    })
