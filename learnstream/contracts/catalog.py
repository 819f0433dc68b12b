"""Catalog, generation, preference and identity events (topic ``learnstream.catalog``),
after the seed's ``content``, ``generated_content``, ``content_validation_history``,
``generation_status`` / ``content_generation_jobs`` and ``user_preferences``."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from learnstream.contracts.behavior import ContentFormat, DifficultyKind
from learnstream.contracts.envelope import IDENTIFIER, Envelope, Identifier, Payload
from learnstream.contracts.topics import Topic

GenerationState = Literal["queued", "generating", "processing", "completed", "failed"]
DifficultyPreference = Literal["beginner", "intermediate", "advanced"]


class ContentGeneratedPayload(Payload):
    """Metadata of a finished piece of content (seed ``content`` + ``generated_content``)."""

    title: str = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=10_000)
    content_kind: str = Field(
        default="audio_story",
        max_length=50,
        description="audio_story, lesson, vocabulary_drill, flashcards, exercises, quiz...",
    )
    format: ContentFormat
    genre: str | None = Field(default=None, max_length=100)
    sub_genre: str | None = Field(default=None, max_length=100)
    topic: str | None = Field(default=None, max_length=200)
    difficulty: DifficultyKind
    difficulty_score: float | None = Field(default=None, ge=0, le=1)
    estimated_comprehension_level: str | None = Field(default=None, max_length=50)
    duration: int = Field(ge=0, description="Seconds.")
    word_count: int | None = Field(default=None, ge=0)
    audio_url: str | None = Field(default=None, max_length=1000)
    audio_format: str | None = Field(default="mp3", max_length=10)
    audio_bitrate: int | None = Field(default=None, ge=0)
    audio_size: int | None = Field(default=None, ge=0)
    template_id: str = Field(min_length=1, max_length=255)
    template_version: str | None = Field(default=None, max_length=50)
    model_parameters: dict[str, Any] = Field(default_factory=dict)
    generated_by: str | None = Field(default=None, max_length=255)
    generation_id: str | None = Field(default=None, max_length=255)
    episode_number: int | None = Field(default=None, ge=0)
    series_id: str | None = Field(default=None, max_length=255)
    related_content_ids: list[str] = Field(default_factory=list, max_length=200)
    language: str = Field(default="it", max_length=10)
    locale: str | None = Field(default=None, max_length=10)
    learning_objectives: list[str] = Field(default_factory=list, max_length=100)
    estimated_completion_time: int | None = Field(default=None, ge=0, description="Minutes.")
    metadata: dict[str, Any] | None = None


class ContentValidatedPayload(Payload):
    """One validation attempt of generated content (seed ``content_validation_history``)."""

    attempt_number: int = Field(ge=1)
    passed: bool
    validation_score: float | None = Field(default=None, ge=0, le=1)
    validation_result: dict[str, Any] = Field(default_factory=dict)


class GenerationStatusPayload(Payload):
    """A generation job moved to ``status`` (seed ``generation_status``)."""

    generation_id: Identifier = IDENTIFIER
    status: GenerationState
    error_message: str | None = Field(default=None, max_length=10_000)
    webhook_url: str | None = Field(default=None, max_length=1000)
    estimated_completion_time: int | None = Field(default=None, ge=0, description="Seconds.")
    request_payload: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _failure_says_why(self) -> GenerationStatusPayload:
        if self.status == "failed" and not self.error_message:
            raise ValueError("a failed generation needs an error_message")
        return self


class PreferencesPayload(Payload):
    """The learner's stated preferences (seed ``user_preferences``), replacing earlier ones."""

    difficulty_preference: DifficultyPreference
    preferred_formats: list[ContentFormat] = Field(default_factory=list)
    preferred_genres: list[str] = Field(default_factory=list, max_length=50)
    playback_speed: float = Field(default=1.0, ge=0.25, le=4)
    auto_play: bool = True


class LearnerIdentifiedPayload(Payload):
    """The anonymous ``session_id`` of the envelope belongs to ``learner_id`` from now on,
    and its history counts for that learner."""

    method: Literal["signup", "login", "link"] = "login"


class _CatalogEvent(Envelope):
    topic: ClassVar[Topic] = Topic.CATALOG


class ContentGenerated(_CatalogEvent):
    event_type: Literal["content.generated"] = "content.generated"
    content_id: Identifier = IDENTIFIER
    payload: ContentGeneratedPayload


class ContentValidated(_CatalogEvent):
    event_type: Literal["content.validated"] = "content.validated"
    content_id: Identifier = IDENTIFIER
    payload: ContentValidatedPayload


class GenerationStatusChanged(_CatalogEvent):
    event_type: Literal["generation.status_changed"] = "generation.status_changed"
    payload: GenerationStatusPayload


class PreferencesUpdated(_CatalogEvent):
    event_type: Literal["preferences.updated"] = "preferences.updated"
    payload: PreferencesPayload


class LearnerIdentified(_CatalogEvent):
    event_type: Literal["learner.identified"] = "learner.identified"
    learner_id: Identifier = IDENTIFIER
    payload: LearnerIdentifiedPayload = Field(default_factory=LearnerIdentifiedPayload)


CATALOG_EVENTS: tuple[type[Envelope], ...] = (
    ContentGenerated,
    ContentValidated,
    GenerationStatusChanged,
    PreferencesUpdated,
    LearnerIdentified,
)
