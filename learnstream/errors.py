"""One exception tree for the whole pipeline.

Split by what the caller must do, never by message text::

    LearnstreamError
    ├── EventRejected          terminal: a bad event; dead-letter it with its reason, never retry
    ├── TransientError         retry with backoff and keep the Kafka offset uncommitted
    │   ├── DatabaseUnavailable
    │   └── BrokerUnavailable
    ├── StackError             the local stack could not be started or reached
    └── ConfigurationError     settings are inconsistent or incomplete
"""

from __future__ import annotations

from enum import StrEnum


class LearnstreamError(Exception):
    """Base of every error Learnstream raises on purpose."""


class RejectionReason(StrEnum):
    """Why an incoming message was not accepted; stored with every dead letter."""

    OVERSIZED = "oversized"
    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_EVENT_TYPE = "missing_event_type"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    OCCURRED_IN_FUTURE = "occurred_in_future"
    WRONG_TOPIC = "wrong_topic"
    #: Valid by the contract, but the database refused the row (a constraint or a limit the
    #: contract does not state yet); kept as a dead letter instead of blocking the stream.
    UNSTORABLE = "unstorable"


class EventRejected(LearnstreamError):
    """A message that can never become a valid event. Terminal: dead-letter, do not retry."""

    def __init__(
        self,
        reason: RejectionReason,
        detail: str,
        *,
        event_id: str | None = None,
        event_type: str | None = None,
    ) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.event_id = event_id
        self.event_type = event_type


class TransientError(LearnstreamError):
    """Something outside us is unavailable for now. Retry; commit no offsets meanwhile."""


class DatabaseUnavailable(TransientError):
    """PostgreSQL refused or dropped the connection."""


class BrokerUnavailable(TransientError):
    """Kafka could not be reached."""


class StackError(LearnstreamError):
    """The local stack (Kafka, PostgreSQL) could not be installed, started or reached."""


class ConfigurationError(LearnstreamError):
    """Settings are inconsistent or incomplete."""
