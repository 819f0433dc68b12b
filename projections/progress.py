"""``student_progress`` and ``course_enrollments`` (seed 003), keyed by learner.

The student is the event's learner (or the learner its session was identified as, else the
anonymous session): a session's progress moves to the learner when it is identified.

``student_progress`` per (student, lesson): ``started_at`` = first lesson event,
``completed_at`` = first completion, ``time_spent`` = sum of ``time_spent_delta`` (seconds),
``score`` = score of the latest completion that has one, ``best_score`` = the highest,
``attempts`` = number of ``lesson.started`` (at least 1), ``completions``, ``last_position`` =
position of the latest ``lesson.position``. "Latest" is by ``(occurred_at, event_id)``.

``course_enrollments`` per (course, student): ``enrolled_at`` = first ``course.enrolled``
(NULL if the learner completed lessons without an enrollment event), ``lesson_count`` = the
largest announced, ``lessons_completed`` = distinct lessons completed,
``progress_percentage`` = 100 * completed / lesson_count (half-up to 2 decimals, capped at 100,
0 when the lesson count is unknown), ``completed_at`` = when the last needed lesson was first
completed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from learnstream.log import IDENTIFIED, LogEvent
from projections.fold import Col, FoldProjection, Group, GroupKind, Rule, State

LESSON_TYPES = frozenset({"lesson.started", "lesson.position", "lesson.completed"})


class StudentProgressProjection(FoldProjection):
    name = "student_progress"
    version = 1
    event_types = LESSON_TYPES | {IDENTIFIED}
    subject = "student_id"
    table_name = "student_progress"
    indexes = ("(lesson_id)",)
    columns: ClassVar[tuple[Col, ...]] = (
        Col("student_id", "text", Rule.KEY),
        Col("lesson_id", "text", Rule.KEY),
        Col("course_id", "text", Rule.MAX),
        Col("started_at", "timestamptz", Rule.MIN, required=True),
        Col("completed_at", "timestamptz", Rule.MIN),
        Col("time_spent", "bigint", Rule.SUM, required=True),
        Col("score", "float8", Rule.GROUP, "score"),
        Col("best_score", "float8", Rule.MAX),
        Col("attempts", "integer", Rule.DERIVED, required=True),
        Col("completions", "integer", Rule.SUM, required=True),
        Col("last_position", "jsonb", Rule.GROUP, "position"),
        Col("updated_at", "timestamptz", Rule.MAX, required=True),
        Col("score_at", "timestamptz", Rule.GROUP, "score", public=False),
        Col("score_event_id", "uuid", Rule.GROUP, "score", public=False),
        Col("started_count", "integer", Rule.SUM, required=True, public=False),
        Col("position_at", "timestamptz", Rule.GROUP, "position", public=False),
        Col("position_event_id", "uuid", Rule.GROUP, "position", public=False),
    )
    groups = (
        Group("score", GroupKind.LATEST, ("score_at", "score_event_id", "score")),
        Group("position", GroupKind.LATEST, ("position_at", "position_event_id", "last_position")),
    )
    lift_sql = """
        SELECT {subject} AS student_id, l.lesson_id, l.course_id, l.occurred_at AS started_at,
               CASE WHEN done THEN l.occurred_at END AS completed_at,
               coalesce((l.payload->>'time_spent_delta')::bigint, 0) AS time_spent,
               CASE WHEN done AND l.payload ? 'score' THEN l.occurred_at END AS score_at,
               CASE WHEN done AND l.payload ? 'score' THEN l.event_id END AS score_event_id,
               CASE WHEN done THEN (l.payload->>'score')::float8 END AS score,
               CASE WHEN done THEN (l.payload->>'score')::float8 END AS best_score,
               (l.event_type = 'lesson.started')::integer AS started_count,
               done::integer AS completions,
               CASE WHEN at_position THEN l.occurred_at END AS position_at,
               CASE WHEN at_position THEN l.event_id END AS position_event_id,
               CASE WHEN at_position THEN l.payload->'position' END AS last_position,
               l.occurred_at AS updated_at
        FROM (SELECT *, event_type = 'lesson.completed' AS done,
                     event_type = 'lesson.position' AS at_position
              FROM log.learning_events
              WHERE {upto} AND event_type IN ('lesson.started', 'lesson.position',
                                              'lesson.completed')) AS l
        LEFT JOIN identities i USING (session_id)
    """
    derive_sql: ClassVar[dict[str, str]] = {"attempts": "greatest(s.started_count, 1)"}

    def lift(self, event: LogEvent, subject: str) -> list[State]:
        p = event.payload
        at = event.occurred_at
        values: dict[str, Any] = {
            "student_id": subject,
            "lesson_id": p["lesson_id"],
            "course_id": p.get("course_id"),
            "started_at": at,
            "updated_at": at,
            "time_spent": int(p.get("time_spent_delta", 0)),
            "started_count": int(event.event_type == "lesson.started"),
            "completions": int(event.event_type == "lesson.completed"),
        }
        if event.event_type == "lesson.completed":
            values["completed_at"] = at
            if p.get("score") is not None:
                score = float(p["score"])
                values.update(
                    score_at=at, score_event_id=event.event_id, score=score, best_score=score
                )
        elif event.event_type == "lesson.position":
            values.update(
                position_at=at, position_event_id=event.event_id, last_position=p["position"]
            )
        return [self.empty_lift(**values)]

    def derive(self, state: State) -> State:
        return {"attempts": max(state["started_count"] or 0, 1)}


def progress_hundredths(completed: int, lesson_count: int | None) -> int:
    """100 * completed / lesson_count in hundredths, rounded half up, capped at 100%."""
    if not lesson_count:
        return 0
    return min(10_000, (20_000 * completed + lesson_count) // (2 * lesson_count))


class CourseEnrollmentProjection(FoldProjection):
    name = "course_enrollments"
    version = 1
    event_types = frozenset({"course.enrolled", "lesson.completed", IDENTIFIED})
    subject = "student_id"
    table_name = "course_enrollments"
    indexes = ("(student_id)",)
    columns: ClassVar[tuple[Col, ...]] = (
        Col("course_id", "text", Rule.KEY),
        Col("student_id", "text", Rule.KEY),
        Col("enrolled_at", "timestamptz", Rule.MIN),
        Col("completed_at", "timestamptz", Rule.DERIVED),
        Col("progress_percentage", "numeric(5,2)", Rule.DERIVED, required=True),
        Col("is_active", "boolean", Rule.DERIVED, required=True),
        Col("lesson_count", "integer", Rule.MAX),
        Col("lessons_completed", "integer", Rule.DERIVED, required=True),
        Col("last_activity_at", "timestamptz", Rule.MAX, required=True),
        Col("completed_lessons", "text[]", Rule.GROUP, "done", required=True, public=False),
        Col(
            "completed_lesson_at", "timestamptz[]", Rule.GROUP, "done",
            required=True, public=False,
        ),
    )
    groups = (Group("done", GroupKind.MINMAP, ("completed_lessons", "completed_lesson_at")),)
    lift_sql = """
        SELECT l.course_id, {subject} AS student_id,
               CASE WHEN l.event_type = 'course.enrolled' THEN l.occurred_at END AS enrolled_at,
               (l.payload->>'lesson_count')::integer AS lesson_count,
               CASE WHEN l.event_type = 'lesson.completed' THEN l.lesson_id END
                   AS completed_lessons,
               CASE WHEN l.event_type = 'lesson.completed' THEN l.occurred_at END
                   AS completed_lesson_at,
               l.occurred_at AS last_activity_at
        FROM (SELECT * FROM log.learning_events
              WHERE {upto} AND course_id IS NOT NULL
                AND event_type IN ('course.enrolled', 'lesson.completed')) AS l
        LEFT JOIN identities i USING (session_id)
    """
    derive_sql: ClassVar[dict[str, str]] = {
        "lessons_completed": "cardinality(s.completed_lessons)",
        "progress_percentage": """(CASE WHEN coalesce(s.lesson_count, 0) = 0 THEN 0
            ELSE least(10000, (20000 * cardinality(s.completed_lessons) + s.lesson_count)
                              / (2 * s.lesson_count)) END / 100.0)::numeric(5,2)""",
        "completed_at": """CASE WHEN s.lesson_count IS NOT NULL
                AND cardinality(s.completed_lessons) >= s.lesson_count
            THEN (SELECT t FROM unnest(s.completed_lesson_at) AS t ORDER BY t
                  OFFSET s.lesson_count - 1 LIMIT 1) END""",
        "is_active": "true",
    }

    def lift(self, event: LogEvent, subject: str) -> list[State]:
        p = event.payload
        course = p.get("course_id")
        if course is None:
            return []
        at = event.occurred_at
        values: dict[str, Any] = {
            "course_id": course,
            "student_id": subject,
            "last_activity_at": at,
        }
        if event.event_type == "course.enrolled":
            values.update(enrolled_at=at, lesson_count=p.get("lesson_count"))
        else:
            values.update(completed_lessons=[p["lesson_id"]], completed_lesson_at=[at])
        return [self.empty_lift(**values)]

    def derive(self, state: State) -> State:
        done: list[Any] = state["completed_lessons"] or []
        count = state["lesson_count"]
        completed_at = None
        if count is not None and len(done) >= count:
            completed_at = sorted(state["completed_lesson_at"])[count - 1]
        return {
            "lessons_completed": len(done),
            "progress_percentage": Decimal(progress_hundredths(len(done), count)) / 100,
            "completed_at": completed_at,
            "is_active": True,
        }
