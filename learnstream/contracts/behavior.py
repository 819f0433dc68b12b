"""Playback events (topic ``learnstream.behavior``), after the seed's ``behavioral_events``."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from learnstream.contracts.envelope import IDENTIFIER, Envelope, Identifier, Payload
from learnstream.contracts.topics import Topic

ContentFormat = Literal["narrative", "podcast", "educational"]
DifficultyKind = Literal["lexical-heavy", "discourse-heavy"]


class ContentCharacteristics(BaseModel):
    """What the content is like; the learner model learns preferences over these.

    Open-ended (extra keys are kept) because generators add characteristics over time.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    format: ContentFormat
    genre: str | None = Field(default=None, max_length=100)
    sub_genre: str | None = Field(default=None, max_length=100)
    topic: str | None = Field(default=None, max_length=200)
    difficulty: DifficultyKind | None = None
    difficulty_score: float | None = Field(default=None, ge=0, le=1)
    level: str | None = Field(default=None, max_length=20, description="e.g. CEFR A1..C2")
    language: str | None = Field(default=None, max_length=10)


class PlaybackPayload(Payload):
    """Where playback stands when the event happens (seconds, as in the seed)."""

    playback_position: float = Field(ge=0, le=10**8)
    playback_position_percent: float | None = Field(default=None, ge=0, le=100)
    duration: float | None = Field(default=None, gt=0, le=10**8)
    playback_rate: float | None = Field(default=None, gt=0, le=4)
    content_characteristics: ContentCharacteristics


class SeekPayload(PlaybackPayload):
    """A seek from ``from_position`` to ``playback_position``."""

    from_position: float = Field(ge=0, le=10**8)


class SkipPayload(PlaybackPayload):
    """The listener left the content at ``playback_position`` for another one."""

    skipped_to_content_id: Identifier | None = Field(default=None, max_length=255)


class _PlaybackEvent(Envelope):
    topic: ClassVar[Topic] = Topic.BEHAVIOR
    content_id: Identifier = IDENTIFIER


class PlaybackStarted(_PlaybackEvent):
    event_type: Literal["playback.started"] = "playback.started"
    payload: PlaybackPayload


class PlaybackPaused(_PlaybackEvent):
    event_type: Literal["playback.paused"] = "playback.paused"
    payload: PlaybackPayload


class PlaybackResumed(_PlaybackEvent):
    event_type: Literal["playback.resumed"] = "playback.resumed"
    payload: PlaybackPayload


class PlaybackSeeked(_PlaybackEvent):
    event_type: Literal["playback.seeked"] = "playback.seeked"
    payload: SeekPayload


class PlaybackSkipped(_PlaybackEvent):
    event_type: Literal["playback.skipped"] = "playback.skipped"
    payload: SkipPayload


class PlaybackCompleted(_PlaybackEvent):
    event_type: Literal["playback.completed"] = "playback.completed"
    payload: PlaybackPayload


class PlaybackReplayed(_PlaybackEvent):
    event_type: Literal["playback.replayed"] = "playback.replayed"
    payload: PlaybackPayload


class PlaybackHeartbeat(_PlaybackEvent):
    event_type: Literal["playback.heartbeat"] = "playback.heartbeat"
    payload: PlaybackPayload

    @model_validator(mode="after")
    def _heartbeat_needs_duration(self) -> PlaybackHeartbeat:
        # Heartbeats drive listening-time and listen-through figures; without a duration
        # they cannot be turned into a percentage, so they are useless downstream.
        if self.payload.duration is None:
            raise ValueError("playback.heartbeat requires payload.duration")
        return self


BEHAVIOR_EVENTS: tuple[type[Envelope], ...] = (
    PlaybackStarted,
    PlaybackPaused,
    PlaybackResumed,
    PlaybackSeeked,
    PlaybackSkipped,
    PlaybackCompleted,
    PlaybackReplayed,
    PlaybackHeartbeat,
)
