"""``assessment_attempts`` (seed 003) and the per-assessment view ``assessment_stats``.

One row per (student, assessment, attempt_number), the seed's unique key. If the same attempt
is submitted more than once (client retry with a new event id, a second device), the latest
submission by ``(occurred_at, event_id)`` is the attempt and ``submissions`` counts them.
``score_percent`` = 100 * score / max_score; ``passed`` compares it with ``passing_score``
(NULL when the assessment has none).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from learnstream.log import IDENTIFIED, LogEvent
from projections.fold import Col, FoldProjection, Group, GroupKind, Rule, State

_ATTEMPT = (
    ("completed_at", "timestamptz"),
    ("event_id", "uuid"),
    ("session_id", "text"),
    ("lesson_id", "text"),
    ("course_id", "text"),
    ("skills", "text[]"),
    ("answers", "jsonb"),
    ("score", "float8"),
    ("max_score", "float8"),
    ("passing_score", "float8"),
    ("time_taken", "integer"),
    ("started_at", "timestamptz"),
)
_PERCENT_SQL = "s.score * 100 / s.max_score"


class AssessmentAttemptProjection(FoldProjection):
    name = "assessment_attempts"
    version = 1
    event_types = frozenset({"assessment.submitted", IDENTIFIED})
    subject = "student_id"
    table_name = "assessment_attempts"
    primary_key = ("student_id", "assessment_id", "attempt_number")  # the seed's unique key
    indexes = ("(assessment_id)", "(lesson_id)")
    columns: ClassVar[tuple[Col, ...]] = (
        Col("event_id", "uuid", Rule.GROUP, "attempt", required=True),
        Col("assessment_id", "text", Rule.KEY),
        Col("student_id", "text", Rule.KEY),
        Col("attempt_number", "integer", Rule.KEY),
        Col("answers", "jsonb", Rule.GROUP, "attempt", required=True),
        Col("score", "float8", Rule.GROUP, "attempt", required=True),
        Col("max_score", "float8", Rule.GROUP, "attempt", required=True),
        Col("score_percent", "float8", Rule.DERIVED, required=True),
        Col("passing_score", "float8", Rule.GROUP, "attempt"),
        Col("passed", "boolean", Rule.DERIVED),
        Col("started_at", "timestamptz", Rule.GROUP, "attempt"),
        Col("completed_at", "timestamptz", Rule.GROUP, "attempt", required=True),
        Col("time_taken", "integer", Rule.GROUP, "attempt"),
        Col("is_submitted", "boolean", Rule.DERIVED, required=True),
        Col("lesson_id", "text", Rule.GROUP, "attempt"),
        Col("course_id", "text", Rule.GROUP, "attempt"),
        Col("skills", "text[]", Rule.GROUP, "attempt", required=True),
        Col("session_id", "text", Rule.GROUP, "attempt", required=True),
        Col("submissions", "integer", Rule.SUM, required=True),
    )
    groups = (Group("attempt", GroupKind.LATEST, tuple(n for n, _ in _ATTEMPT)),)
    derived_views = (
        (
            "assessment_stats",
            """SELECT assessment_id, count(*) AS attempts,
                      count(DISTINCT student_id) AS students,
                      avg(score_percent) AS avg_score_percent,
                      max(score_percent) AS best_score_percent,
                      avg(CASE WHEN passed THEN 1.0 WHEN NOT passed THEN 0.0 END) AS pass_rate,
                      max(completed_at) AS last_attempt_at
               FROM read.assessment_attempts GROUP BY assessment_id""",
        ),
    )
    lift_sql = """
        SELECT {subject} AS student_id, l.assessment_id, l.attempt_number,
               l.occurred_at AS completed_at, l.event_id, l.session_id, l.lesson_id,
               l.course_id,
               ARRAY(SELECT jsonb_array_elements_text(coalesce(l.payload->'skills', '[]')))
                   AS skills,
               coalesce(l.payload->'answers', '{}') AS answers,
               (l.payload->>'score')::float8 AS score,
               (l.payload->>'max_score')::float8 AS max_score,
               (l.payload->>'passing_score')::float8 AS passing_score,
               (l.payload->>'time_taken')::integer AS time_taken,
               (l.payload->>'started_at')::timestamptz AS started_at,
               1 AS submissions
        FROM (SELECT * FROM log.learning_events
              WHERE {upto} AND event_type = 'assessment.submitted') AS l
        LEFT JOIN identities i USING (session_id)
    """
    derive_sql: ClassVar[dict[str, str]] = {
        "score_percent": _PERCENT_SQL,
        "passed": f"CASE WHEN s.passing_score IS NOT NULL "
        f"THEN {_PERCENT_SQL} >= s.passing_score END",
        "is_submitted": "true",
    }

    def lift(self, event: LogEvent, subject: str) -> list[State]:
        p = event.payload
        started = p.get("started_at")
        values: dict[str, Any] = {
            "student_id": subject,
            "assessment_id": p["assessment_id"],
            "attempt_number": int(p["attempt_number"]),
            "completed_at": event.occurred_at,
            "event_id": event.event_id,
            "session_id": event.session_id,
            "lesson_id": p.get("lesson_id"),
            "course_id": p.get("course_id"),
            "skills": list(p.get("skills", [])),
            "answers": p.get("answers", {}),
            "score": float(p["score"]),
            "max_score": float(p["max_score"]),
            "passing_score": None if p.get("passing_score") is None else float(p["passing_score"]),
            "time_taken": p.get("time_taken"),
            "started_at": None if started is None else datetime.fromisoformat(started),
            "submissions": 1,
        }
        return [self.empty_lift(**values)]

    def derive(self, state: State) -> State:
        if state["score"] is None:
            return {"score_percent": None, "passed": None, "is_submitted": True}
        percent = state["score"] * 100 / state["max_score"]
        passing = state["passing_score"]
        return {
            "score_percent": percent,
            "passed": None if passing is None else percent >= passing,
            "is_submitted": True,
        }
