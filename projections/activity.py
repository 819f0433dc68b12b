"""``saved_content`` and ``feedback`` (seed 004): one row per event, owned by the learner.

``user_id`` is the learner (or the anonymous session until it is identified; the rows move
to the learner then). Rows are keyed by the event id, so resubmissions with a new event id are
separate rows, as in the seed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from learnstream.log import IDENTIFIED, LogEvent
from projections.fold import Col, FoldProjection, Group, GroupKind, Rule, State

_SAVED = (
    ("saved_at", "timestamptz"),
    ("content_type", "text"),
    ("user_id", "text"),
    ("session_id", "text"),
    ("original_query", "text"),
    ("content_data", "jsonb"),
    ("user_label", "text"),
    ("user_notes", "text"),
    ("requested_event_id", "uuid"),
)


class SavedContentProjection(FoldProjection):
    name = "saved_content"
    version = 1
    event_types = frozenset({"content.saved", IDENTIFIED})
    subject = "user_id"
    table_name = "saved_content"
    indexes = ("(user_id)",)
    columns: ClassVar[tuple[Col, ...]] = (
        Col("saved_content_id", "uuid", Rule.KEY),
        Col("user_id", "text", Rule.GROUP, "row", required=True),
        Col("content_type", "text", Rule.GROUP, "row", required=True),
        Col("original_query", "text", Rule.GROUP, "row", required=True),
        Col("content_data", "jsonb", Rule.GROUP, "row", required=True),
        Col("saved_at", "timestamptz", Rule.GROUP, "row", required=True),
        Col("user_label", "text", Rule.GROUP, "row"),
        Col("user_notes", "text", Rule.GROUP, "row"),
        Col("requested_event_id", "uuid", Rule.GROUP, "row"),
        Col("session_id", "text", Rule.GROUP, "row", required=True),
    )
    # One event per row: the group only carries the values.
    groups = (Group("row", GroupKind.LATEST, tuple(n for n, _ in _SAVED)),)
    lift_sql = """
        SELECT l.event_id AS saved_content_id, l.occurred_at AS saved_at, l.content_type,
               {subject} AS user_id, l.session_id, l.query_text AS original_query,
               l.payload->'content_data' AS content_data, l.payload->>'user_label' AS user_label,
               l.payload->>'user_notes' AS user_notes, l.related_event_id AS requested_event_id
        FROM (SELECT * FROM log.activity_events
              WHERE {upto} AND event_type = 'content.saved') AS l
        LEFT JOIN identities i USING (session_id)
    """

    def lift(self, event: LogEvent, subject: str) -> list[State]:
        p = event.payload
        values: dict[str, Any] = {
            "saved_content_id": event.event_id,
            "saved_at": event.occurred_at,
            "content_type": p["content_type"],
            "user_id": subject,
            "session_id": event.session_id,
            "original_query": p["original_query"],
            "content_data": p["content_data"],
            "user_label": p.get("user_label"),
            "user_notes": p.get("user_notes"),
            "requested_event_id": _uuid(p.get("requested_event_id")),
        }
        return [self.empty_lift(**values)]


_FEEDBACK = (
    ("timestamp", "timestamptz"),
    ("rating", "smallint"),
    ("user_id", "text"),
    ("session_id", "text"),
    ("feedback_text", "text"),
    ("related_event_id", "uuid"),
    ("context_details", "jsonb"),
)


class FeedbackProjection(FoldProjection):
    name = "feedback"
    version = 1
    event_types = frozenset({"feedback.submitted", IDENTIFIED})
    subject = "user_id"
    table_name = "feedback"
    indexes = ("(user_id)", "(related_event_id)")
    columns: ClassVar[tuple[Col, ...]] = (
        Col("feedback_id", "uuid", Rule.KEY),
        Col("user_id", "text", Rule.GROUP, "row", required=True),
        Col("timestamp", "timestamptz", Rule.GROUP, "row", required=True),
        Col("related_event_id", "uuid", Rule.GROUP, "row"),
        Col("rating", "smallint", Rule.GROUP, "row"),
        Col("feedback_text", "text", Rule.GROUP, "row"),
        Col("context_details", "jsonb", Rule.GROUP, "row"),
        Col("session_id", "text", Rule.GROUP, "row", required=True),
    )
    groups = (Group("row", GroupKind.LATEST, tuple(n for n, _ in _FEEDBACK)),)
    lift_sql = """
        SELECT l.event_id AS feedback_id, l.occurred_at AS "timestamp", l.rating,
               {subject} AS user_id, l.session_id, l.payload->>'feedback_text' AS feedback_text,
               l.related_event_id, l.payload->'context_details' AS context_details
        FROM (SELECT * FROM log.activity_events
              WHERE {upto} AND event_type = 'feedback.submitted') AS l
        LEFT JOIN identities i USING (session_id)
    """

    def lift(self, event: LogEvent, subject: str) -> list[State]:
        p = event.payload
        values: dict[str, Any] = {
            "feedback_id": event.event_id,
            "timestamp": event.occurred_at,
            "rating": p.get("rating"),
            "user_id": subject,
            "session_id": event.session_id,
            "feedback_text": p.get("feedback_text"),
            "related_event_id": _uuid(p.get("related_event_id")),
            "context_details": p.get("context_details"),
        }
        return [self.empty_lift(**values)]


def _uuid(value: Any) -> Any:
    from uuid import UUID

    return None if value is None else UUID(str(value))
