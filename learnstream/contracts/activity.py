"""Activity events (topic ``learnstream.activity``), after the seed's ``activity_log``,
``saved_content`` and ``feedback`` tables."""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field, model_validator

from learnstream.contracts.envelope import PII, Envelope, Payload
from learnstream.contracts.topics import Topic

ContentType = Literal["flashcards", "exercises", "simulation"]


class ContentRequestedPayload(Payload):
    """A learner asked the generator for content (one ``activity_log`` row)."""

    content_type: ContentType
    query_text: str = Field(min_length=1, max_length=10_000, json_schema_extra=PII)
    target_language: str = Field(min_length=1, max_length=50)
    base_language: str | None = Field(default=None, max_length=50)
    request_metadata: dict[str, Any] | None = None
    response_metadata: dict[str, Any] | None = None


class ContentSavedPayload(Payload):
    """A learner saved generated content (one ``saved_content`` row)."""

    content_type: ContentType
    original_query: str = Field(min_length=1, max_length=10_000, json_schema_extra=PII)
    content_data: dict[str, Any]
    user_label: str | None = Field(default=None, max_length=100, json_schema_extra=PII)
    user_notes: str | None = Field(default=None, max_length=10_000, json_schema_extra=PII)
    requested_event_id: UUID | None = Field(
        default=None, description="The content.requested event this came from."
    )


class FeedbackPayload(Payload):
    """A rating and/or text about a request or a saved item (one ``feedback`` row)."""

    rating: int | None = Field(default=None, ge=1, le=5)
    feedback_text: str | None = Field(default=None, max_length=10_000, json_schema_extra=PII)
    related_event_id: UUID | None = Field(
        default=None, description="The content.requested or content.saved event it refers to."
    )
    context_details: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _says_something(self) -> FeedbackPayload:
        if self.rating is None and not self.feedback_text:
            raise ValueError("feedback needs a rating or a feedback_text")
        return self


class _ActivityEvent(Envelope):
    topic: ClassVar[Topic] = Topic.ACTIVITY


class ContentRequested(_ActivityEvent):
    event_type: Literal["content.requested"] = "content.requested"
    payload: ContentRequestedPayload


class ContentSaved(_ActivityEvent):
    event_type: Literal["content.saved"] = "content.saved"
    payload: ContentSavedPayload


class FeedbackSubmitted(_ActivityEvent):
    event_type: Literal["feedback.submitted"] = "feedback.submitted"
    payload: FeedbackPayload


ACTIVITY_EVENTS: tuple[type[Envelope], ...] = (ContentRequested, ContentSaved, FeedbackSubmitted)
