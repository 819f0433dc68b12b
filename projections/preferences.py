"""``user_preferences`` (seed 002) per learner, and ``session_learners`` (who a session is).

- ``user_preferences``: the latest ``preferences.updated`` by ``(occurred_at, event_id)``
  (each update replaces the previous preferences); ``version`` counts updates. Keyed by the
  learner (``id``), or by the anonymous session until it is identified.
- ``session_learners``: the learner each identified session belongs to, from the earliest
  ``learner.identified`` of the session. A session identified as two different learners keeps
  the first; other projections re-key a session once, to its first learner (see
  the README, "Projections", "Identity").
"""

from __future__ import annotations

from typing import Any, ClassVar

from learnstream.log import IDENTIFIED, LogEvent
from projections.fold import Col, FoldProjection, Group, GroupKind, Rule, State

_PREFS = (
    ("last_updated", "timestamptz"),
    ("pref_event_id", "uuid"),
    ("difficulty_preference", "text"),
    ("preferred_formats", "text[]"),
    ("preferred_genres", "text[]"),
    ("playback_speed", "float8"),
    ("auto_play", "boolean"),
    ("session_id", "text"),
)


class UserPreferencesProjection(FoldProjection):
    name = "user_preferences"
    version = 1
    event_types = frozenset({"preferences.updated", IDENTIFIED})
    subject = "id"
    table_name = "user_preferences"
    indexes = ("(session_id)",)
    columns: ClassVar[tuple[Col, ...]] = (
        Col("id", "text", Rule.KEY),
        Col("session_id", "text", Rule.GROUP, "prefs", required=True),
        Col("difficulty_preference", "text", Rule.GROUP, "prefs", required=True),
        Col("preferred_formats", "text[]", Rule.GROUP, "prefs", required=True),
        Col("preferred_genres", "text[]", Rule.GROUP, "prefs", required=True),
        Col("playback_speed", "float8", Rule.GROUP, "prefs", required=True),
        Col("auto_play", "boolean", Rule.GROUP, "prefs", required=True),
        Col("last_updated", "timestamptz", Rule.GROUP, "prefs", required=True),
        Col("version", "integer", Rule.SUM, required=True),
        Col("created_at", "timestamptz", Rule.MIN, required=True),
        Col("pref_event_id", "uuid", Rule.GROUP, "prefs", required=True, public=False),
    )
    groups = (Group("prefs", GroupKind.LATEST, tuple(n for n, _ in _PREFS)),)
    lift_sql = """
        SELECT {subject} AS id, l.occurred_at AS last_updated, l.event_id AS pref_event_id,
               l.payload->>'difficulty_preference' AS difficulty_preference,
               ARRAY(SELECT jsonb_array_elements_text(
                   coalesce(l.payload->'preferred_formats', '[]'))) AS preferred_formats,
               ARRAY(SELECT jsonb_array_elements_text(
                   coalesce(l.payload->'preferred_genres', '[]'))) AS preferred_genres,
               coalesce((l.payload->>'playback_speed')::float8, 1.0) AS playback_speed,
               coalesce((l.payload->>'auto_play')::boolean, true) AS auto_play,
               l.session_id, 1 AS version, l.occurred_at AS created_at
        FROM (SELECT * FROM log.catalog_events
              WHERE {upto} AND event_type = 'preferences.updated') AS l
        LEFT JOIN identities i USING (session_id)
    """

    def lift(self, event: LogEvent, subject: str) -> list[State]:
        p = event.payload
        at = event.occurred_at
        values: dict[str, Any] = {
            "id": subject,
            "last_updated": at,
            "pref_event_id": event.event_id,
            "difficulty_preference": p["difficulty_preference"],
            "preferred_formats": list(p.get("preferred_formats", [])),
            "preferred_genres": list(p.get("preferred_genres", [])),
            "playback_speed": float(p.get("playback_speed", 1.0)),
            "auto_play": bool(p.get("auto_play", True)),
            "session_id": event.session_id,
            "version": 1,
            "created_at": at,
        }
        return [self.empty_lift(**values)]


class SessionLearnersProjection(FoldProjection):
    name = "session_learners"
    version = 1
    event_types = frozenset({IDENTIFIED})
    table_name = "session_learners"
    indexes = ("(learner_id)",)
    columns: ClassVar[tuple[Col, ...]] = (
        Col("session_id", "text", Rule.KEY),
        Col("learner_id", "text", Rule.GROUP, "first", required=True),
        Col("identified_at", "timestamptz", Rule.GROUP, "first", required=True),
        Col("method", "text", Rule.GROUP, "first"),
        Col("identifications", "integer", Rule.SUM, required=True),
        Col("event_id", "uuid", Rule.GROUP, "first", required=True, public=False),
    )
    groups = (
        Group("first", GroupKind.EARLIEST, ("identified_at", "event_id", "learner_id", "method")),
    )
    lift_sql = """
        SELECT session_id, occurred_at AS identified_at, event_id, learner_id,
               payload->>'method' AS method, 1 AS identifications
        FROM log.catalog_events WHERE {upto} AND event_type = 'learner.identified'
    """

    def lift(self, event: LogEvent, subject: str) -> list[State]:
        return [
            self.empty_lift(
                session_id=event.session_id,
                identified_at=event.occurred_at,
                event_id=event.event_id,
                learner_id=event.learner_id,
                method=event.payload.get("method"),
                identifications=1,
            )
        ]
