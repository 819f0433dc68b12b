"""Course, lesson and assessment events (topic ``learnstream.learning``), after the seed's
``course_enrollments``, ``student_progress`` and ``assessment_attempts``."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, Field, model_validator

from learnstream.contracts.envelope import Envelope, Identifier, Payload
from learnstream.contracts.topics import Topic

_ID = Field(min_length=1, max_length=255)


class CourseEnrolledPayload(Payload):
    course_id: Identifier = _ID
    lesson_count: int | None = Field(
        default=None, ge=1, description="Lessons in the course, for progress_percentage."
    )


class LessonStartedPayload(Payload):
    lesson_id: Identifier = _ID
    course_id: Identifier | None = Field(default=None, max_length=255)
    module_id: Identifier | None = Field(default=None, max_length=255)


class LessonPositionPayload(Payload):
    """Resume position in a lesson. ``time_spent_delta`` is active seconds since the
    previous position/started event, so totals are sums and do not depend on arrival order."""

    lesson_id: Identifier = _ID
    course_id: Identifier | None = Field(default=None, max_length=255)
    position: dict[str, Any] = Field(description="Opaque resume position (seed last_position).")
    time_spent_delta: int = Field(default=0, ge=0, le=86_400)


class LessonCompletedPayload(Payload):
    lesson_id: Identifier = _ID
    course_id: Identifier | None = Field(default=None, max_length=255)
    score: float | None = Field(default=None, ge=0, le=100, description="Percent, 0..100.")
    time_spent_delta: int = Field(default=0, ge=0, le=86_400)


class AssessmentSubmittedPayload(Payload):
    """One submitted attempt. A single-question item (knowledge-tracing data) is an assessment
    with ``max_score`` 1 and ``score`` 0 or 1."""

    assessment_id: Identifier = _ID
    lesson_id: Identifier | None = Field(default=None, max_length=255)
    course_id: Identifier | None = Field(default=None, max_length=255)
    skills: list[str] = Field(default_factory=list, max_length=50)
    answers: dict[str, Any] = Field(default_factory=dict)
    # Bounded so the promoted NUMERIC(10,4) columns of log.learning_events can hold them.
    score: float = Field(ge=0, le=999_999)
    max_score: float = Field(gt=0, le=999_999)
    passing_score: float | None = Field(default=None, ge=0, le=100, description="Percent.")
    # The author's difficulty of the assessment, on the catalog's 0..1 difficulty_score scale:
    # a prior for the learner model's fitted item difficulty, not the truth.
    declared_difficulty: float | None = Field(
        default=None, ge=0, le=1, description="Declared difficulty, 0 (easy) .. 1 (hard).")
    attempt_number: int = Field(ge=1, le=10_000)
    time_taken: int | None = Field(default=None, ge=0, le=86_400 * 7, description="Seconds.")
    started_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _score_within_max(self) -> AssessmentSubmittedPayload:
        if self.score > self.max_score:
            raise ValueError("score exceeds max_score")
        return self


class _LearningEvent(Envelope):
    topic: ClassVar[Topic] = Topic.LEARNING


class CourseEnrolled(_LearningEvent):
    event_type: Literal["course.enrolled"] = "course.enrolled"
    payload: CourseEnrolledPayload


class LessonStarted(_LearningEvent):
    event_type: Literal["lesson.started"] = "lesson.started"
    payload: LessonStartedPayload


class LessonPosition(_LearningEvent):
    event_type: Literal["lesson.position"] = "lesson.position"
    payload: LessonPositionPayload


class LessonCompleted(_LearningEvent):
    event_type: Literal["lesson.completed"] = "lesson.completed"
    payload: LessonCompletedPayload


class AssessmentSubmitted(_LearningEvent):
    event_type: Literal["assessment.submitted"] = "assessment.submitted"
    payload: AssessmentSubmittedPayload


LEARNING_EVENTS: tuple[type[Envelope], ...] = (
    CourseEnrolled,
    LessonStarted,
    LessonPosition,
    LessonCompleted,
    AssessmentSubmitted,
)
