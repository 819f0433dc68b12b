"""One exception tree for the whole pipeline, drawn here once (a test holds the drawing
against the classes). The kernel defines the root and the kinds every stage shares; each
stage defines its own under them in its ``errors.py``.

Split by what the caller must do, never by message text::

    LearnstreamError
    ├── EventRejected              terminal: a bad event; dead-letter it with its reason
    ├── TransientError             retry with backoff; keep the Kafka offset uncommitted
    │   ├── DatabaseUnavailable
    │   ├── BrokerUnavailable
    │   └── IngestInterrupted      ingest: shutdown while retrying; the batch stays uncommitted
    ├── ConfigurationError         settings are inconsistent or incomplete
    ├── Unhealthy                  a service runs but makes no progress (health checks fail)
    ├── ConsumerFailed             ingest: unexpected failure; consumer stopped, batch uncommitted
    ├── CollectorError             collector
    │   ├── UnknownWriteKey        no active write key matches (keys revoke)
    │   ├── RequestRejected        an HTTP request refused whole with a 4xx and a reason
    │   └── CollectorOverloaded    too many events wait for Kafka; the request gets 503
    ├── ProjectionError            projections
    │   └── UnknownProjection      no projection of that name runs
    ├── LearnerModelError          learner model
    │   ├── DatasetFormatError     a knowledge-tracing file is not in the expected format
    │   ├── UnknownLearner         no events for this learner id: nothing to explain
    │   ├── StateUnavailable       the state store could not be read; retry (the API answers 503)
    │   └── TokenError             a state API token name is taken, empty or unknown
    ├── WarehouseError             warehouse
    │   ├── TransportUnavailable   the requested PostgreSQL -> Arrow transport cannot be used
    │   ├── ExportCorrupt          the Parquet tree and its manifest disagree beyond repair
    │   ├── UnknownJob             no warehouse job of that name
    │   └── WarehouseEmpty         a job or report needs data the warehouse does not have yet
    └── StackError                 devstack: the local Kafka/PostgreSQL could not be started
        ├── PrerequisiteError      fix the machine (install a package, free a folder), retry
        └── StartError             a server did not come up; the message has its log's tail
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


class ConfigurationError(LearnstreamError):
    """Settings are inconsistent or incomplete."""


class Unhealthy(LearnstreamError):
    """A service is up but makes no progress: messages wait while ingest appends nothing,
    or a projection failed or falls behind. Restart it; the message says what is stuck."""
