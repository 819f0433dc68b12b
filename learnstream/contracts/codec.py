"""Bytes <-> events. Decoding checks everything the pipeline promises to reject, in order,
and raises :class:`EventRejected` with a specific reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from learnstream.contracts.envelope import Envelope
from learnstream.contracts.registry import EVENT_TYPES
from learnstream.contracts.topics import Topic
from learnstream.errors import EventRejected, RejectionReason

#: Documented default size limit of one message (also ``Settings.max_event_bytes``).
DEFAULT_MAX_EVENT_BYTES = 64 * 1024
DEFAULT_MAX_FUTURE_SKEW = timedelta(hours=24)


def encode_event(event: Envelope) -> bytes:
    """The wire form of an event: UTF-8 JSON."""
    return event.model_dump_json(exclude_none=True).encode()


def decode_event(
    raw: bytes,
    *,
    topic: Topic | None = None,
    max_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW,
    now: datetime | None = None,
) -> Envelope:
    """Parse and validate one message. ``topic``, when given, must be the event type's topic."""
    _check_size(raw, max_bytes)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise EventRejected(RejectionReason.MALFORMED_JSON, str(exc)) from None
    return _decode_parsed(data, raw, topic, max_future_skew, now)


def decode_parsed(
    data: object,
    raw: bytes,
    *,
    topic: Topic | None = None,
    max_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW,
    now: datetime | None = None,
) -> Envelope:
    """:func:`decode_event` for a caller that already parsed ``raw`` into ``data`` (the
    collector parses a whole batch at once; parsing each event again was a third of its
    decoding). The same checks, reasons and details."""
    _check_size(raw, max_bytes)
    return _decode_parsed(data, raw, topic, max_future_skew, now)


def _check_size(raw: bytes, max_bytes: int) -> None:
    if len(raw) > max_bytes:
        raise EventRejected(
            RejectionReason.OVERSIZED, f"{len(raw)} bytes exceeds the limit of {max_bytes}"
        )


def _decode_parsed(
    data: object, raw: bytes, topic: Topic | None, max_future_skew: timedelta,
    now: datetime | None,
) -> Envelope:
    if not isinstance(data, dict):
        raise EventRejected(
            RejectionReason.NOT_AN_OBJECT, f"top level is {type(data).__name__}, not an object"
        )
    # PostgreSQL text and jsonb cannot store U+0000: an event carrying it would fail the
    # whole batch at INSERT time, so it is rejected here. The byte scan keeps the common
    # case free; the walk runs only when an escaped NUL may be present.
    if b"\\u0000" in raw and (where := _nul_path(data)) is not None:
        raise EventRejected(
            RejectionReason.INVALID_FIELD, f"{where}: contains a NUL character (U+0000)",
            event_id=_str_or_none(data.get("event_id")),
            event_type=_str_or_none(data.get("event_type")),
        )
    event_id = _str_or_none(data.get("event_id"))
    event_type = data.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        raise EventRejected(
            RejectionReason.MISSING_EVENT_TYPE, "event_type is missing or not a string",
            event_id=event_id,
        )
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise EventRejected(
            RejectionReason.UNKNOWN_EVENT_TYPE, f"unknown event_type {event_type!r}",
            event_id=event_id, event_type=event_type,
        )
    version = data.get("schema_version", 1)
    if version not in cls.supported_versions or isinstance(version, bool):
        raise EventRejected(
            RejectionReason.UNSUPPORTED_SCHEMA_VERSION,
            f"{event_type} schema_version {version!r} not in {sorted(cls.supported_versions)}",
            event_id=event_id, event_type=event_type,
        )
    if topic is not None and cls.topic != topic:
        raise EventRejected(
            RejectionReason.WRONG_TOPIC,
            f"{event_type} belongs on {cls.topic.value}, arrived on {topic.value}",
            event_id=event_id, event_type=event_type,
        )
    try:
        event = cls.model_validate(data)
    except ValidationError as exc:
        raise _field_rejection(exc, event_id, event_type) from None
    limit = (now or datetime.now(UTC)) + max_future_skew
    if event.occurred_at > limit:
        raise EventRejected(
            RejectionReason.OCCURRED_IN_FUTURE,
            f"occurred_at {event.occurred_at.isoformat()} is after {limit.isoformat()}",
            event_id=event_id, event_type=event_type,
        )
    return event


def _field_rejection(exc: ValidationError, event_id: str | None, event_type: str) -> EventRejected:
    errors = exc.errors(include_url=False, include_input=False)
    missing = all(err["type"] == "missing" for err in errors)
    detail = "; ".join(f"{_loc(err['loc'])}: {err['msg']}" for err in errors[:10])
    reason = RejectionReason.MISSING_FIELD if missing else RejectionReason.INVALID_FIELD
    return EventRejected(reason, detail, event_id=event_id, event_type=event_type)


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(event)"


def _str_or_none(value: object) -> str | None:
    return value[:255] if isinstance(value, str) else None


def _nul_path(value: Any, path: str = "(event)") -> str | None:
    """Where the first string (key or value) containing U+0000 is, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path != "(event)" else str(key)
            if "\x00" in str(key):
                return child
            if (found := _nul_path(item, child)) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (found := _nul_path(item, f"{path}[{index}]")) is not None:
                return found
    return None
