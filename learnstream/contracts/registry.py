"""Every event type the pipeline accepts, and the topic it travels on."""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated, TypeAlias

from pydantic import Field, TypeAdapter

from learnstream.contracts.activity import (
    ACTIVITY_EVENTS,
    ContentRequested,
    ContentSaved,
    FeedbackSubmitted,
)
from learnstream.contracts.behavior import (
    BEHAVIOR_EVENTS,
    PlaybackCompleted,
    PlaybackHeartbeat,
    PlaybackPaused,
    PlaybackReplayed,
    PlaybackResumed,
    PlaybackSeeked,
    PlaybackSkipped,
    PlaybackStarted,
)
from learnstream.contracts.catalog import (
    CATALOG_EVENTS,
    ContentGenerated,
    ContentValidated,
    GenerationStatusChanged,
    LearnerIdentified,
    PreferencesUpdated,
)
from learnstream.contracts.envelope import Envelope
from learnstream.contracts.learning import (
    LEARNING_EVENTS,
    AssessmentSubmitted,
    CourseEnrolled,
    LessonCompleted,
    LessonPosition,
    LessonStarted,
)
from learnstream.contracts.likes import LIKE_EVENTS, ContentLiked, ContentUnliked
from learnstream.contracts.topics import Topic


def _event_type_of(cls: type[Envelope]) -> str:
    default = cls.model_fields["event_type"].default
    assert isinstance(default, str), cls
    return default


#: event_type -> model class, for every accepted event type.
EVENT_TYPES: MappingProxyType[str, type[Envelope]] = MappingProxyType(
    {
        _event_type_of(cls): cls
        for cls in (
            *BEHAVIOR_EVENTS,
            *LIKE_EVENTS,
            *ACTIVITY_EVENTS,
            *LEARNING_EVENTS,
            *CATALOG_EVENTS,
        )
    }
)

Event: TypeAlias = Annotated[
    PlaybackStarted
    | PlaybackPaused
    | PlaybackResumed
    | PlaybackSeeked
    | PlaybackSkipped
    | PlaybackCompleted
    | PlaybackReplayed
    | PlaybackHeartbeat
    | ContentLiked
    | ContentUnliked
    | ContentRequested
    | ContentSaved
    | FeedbackSubmitted
    | CourseEnrolled
    | LessonStarted
    | LessonPosition
    | LessonCompleted
    | AssessmentSubmitted
    | ContentGenerated
    | ContentValidated
    | GenerationStatusChanged
    | PreferencesUpdated
    | LearnerIdentified,
    Field(discriminator="event_type"),
]
"""Any event, discriminated by ``event_type`` (for JSON Schema and AsyncAPI)."""

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def topic_for(event_type: str) -> Topic:
    """The topic an event type travels on."""
    return EVENT_TYPES[event_type].topic


def event_types_on(topic: Topic) -> list[str]:
    """The event types that travel on ``topic``, sorted."""
    return sorted(name for name, cls in EVENT_TYPES.items() if cls.topic == topic)
