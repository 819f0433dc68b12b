"""How an accepted event becomes a row of its log table.

The envelope columns are the same for every table; each family promotes a few payload
fields (the seed schemas' columns) so common queries need no JSON extraction. The full
payload is always kept in ``payload`` as well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from learnstream.contracts import (
    AssessmentSubmittedPayload,
    ContentGeneratedPayload,
    ContentRequestedPayload,
    ContentSavedPayload,
    Envelope,
    FeedbackPayload,
    GenerationStatusPayload,
    LikePayload,
    PlaybackPayload,
    Topic,
)


@dataclass(frozen=True, slots=True)
class SourceOffset:
    """Where a message came from in Kafka."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    pg_type: str  # element type used to cast the unnest() array


ENVELOPE_COLUMNS: tuple[Column, ...] = (
    Column("event_id", "uuid"),
    Column("event_type", "text"),
    Column("schema_version", "smallint"),
    Column("occurred_at", "timestamptz"),
    Column("session_id", "text"),
    Column("learner_id", "text"),
    Column("content_id", "text"),
    Column("payload", "jsonb"),
    Column("context", "jsonb"),
    Column("kafka_topic", "text"),
    Column("kafka_partition", "integer"),
    Column("kafka_offset", "bigint"),
)

FAMILY_COLUMNS: dict[Topic, tuple[Column, ...]] = {
    Topic.BEHAVIOR: (
        Column("playback_position", "numeric"),
        Column("playback_position_percent", "numeric"),
        Column("duration", "numeric"),
        Column("content_characteristics", "jsonb"),
        Column("device_info", "jsonb"),
        Column("network_type", "text"),
    ),
    Topic.LIKES: (
        Column("reaction_type", "text"),
        Column("content_characteristics", "jsonb"),
    ),
    Topic.ACTIVITY: (
        Column("content_type", "text"),
        Column("query_text", "text"),
        Column("target_language", "text"),
        Column("base_language", "text"),
        Column("rating", "smallint"),
        Column("related_event_id", "uuid"),
    ),
    Topic.LEARNING: (
        Column("course_id", "text"),
        Column("lesson_id", "text"),
        Column("assessment_id", "text"),
        Column("score", "numeric"),
        Column("max_score", "numeric"),
        Column("attempt_number", "integer"),
        Column("time_taken", "integer"),
    ),
    Topic.CATALOG: (
        Column("generation_id", "text"),
        Column("status", "text"),
        Column("format", "text"),
        Column("genre", "text"),
        Column("topic", "text"),
        Column("difficulty", "text"),
    ),
}


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _behavior(event: Envelope) -> tuple[Any, ...]:
    p = event.payload
    assert isinstance(p, PlaybackPayload)
    device = event.context.device_info
    return (
        p.playback_position,
        p.playback_position_percent,
        p.duration,
        p.content_characteristics.model_dump_json(exclude_none=True),
        _json(device),
        event.context.network_type,
    )


def _likes(event: Envelope) -> tuple[Any, ...]:
    p = event.payload
    assert isinstance(p, LikePayload)
    return (p.reaction_type, p.content_characteristics.model_dump_json(exclude_none=True))


def _activity(event: Envelope) -> tuple[Any, ...]:
    p = event.payload
    if isinstance(p, ContentRequestedPayload):
        return (p.content_type, p.query_text, p.target_language, p.base_language, None, None)
    if isinstance(p, ContentSavedPayload):
        return (p.content_type, p.original_query, None, None, None, p.requested_event_id)
    assert isinstance(p, FeedbackPayload)
    return (None, None, None, None, p.rating, p.related_event_id)


def _learning(event: Envelope) -> tuple[Any, ...]:
    p = event.payload
    course_id = getattr(p, "course_id", None)
    lesson_id = getattr(p, "lesson_id", None)
    if isinstance(p, AssessmentSubmittedPayload):
        return (
            course_id, lesson_id, p.assessment_id, p.score, p.max_score,
            p.attempt_number, p.time_taken,
        )
    score = getattr(p, "score", None)
    return (course_id, lesson_id, None, score, None, None, None)


def _catalog(event: Envelope) -> tuple[Any, ...]:
    p = event.payload
    if isinstance(p, ContentGeneratedPayload):
        return (p.generation_id, None, p.format, p.genre, p.topic, p.difficulty)
    if isinstance(p, GenerationStatusPayload):
        return (p.generation_id, p.status, None, None, None, None)
    return (None, None, None, None, None, None)


_FAMILY_VALUES: dict[Topic, Callable[[Envelope], tuple[Any, ...]]] = {
    Topic.BEHAVIOR: _behavior,
    Topic.LIKES: _likes,
    Topic.ACTIVITY: _activity,
    Topic.LEARNING: _learning,
    Topic.CATALOG: _catalog,
}


def log_row(event: Envelope, source: SourceOffset) -> tuple[Any, ...]:
    """The values of ``event``'s log-table row, in ``columns_of(event.topic)`` order."""
    envelope = (
        event.event_id,
        event.event_type,
        event.schema_version,
        event.occurred_at,
        event.session_id,
        event.learner_id,
        event.content_id,
        event.payload.model_dump_json(exclude_none=True),
        event.context.model_dump_json(exclude_none=True),
        source.topic,
        source.partition,
        source.offset,
    )
    return envelope + _FAMILY_VALUES[event.topic](event)


def columns_of(topic: Topic) -> tuple[Column, ...]:
    """Every column a row of ``topic``'s log table is written with."""
    return ENVELOPE_COLUMNS + FAMILY_COLUMNS[topic]
