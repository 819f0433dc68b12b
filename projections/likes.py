"""``like_engagement`` (seed 002): the current like state per (content, session).

``liked_at`` / ``unliked_at`` are the times of the latest like and the latest unlike; the
row is ``liked`` when the latest like is later than the latest unlike, ordered by
``(occurred_at, event_id)`` (ties broken by event id, so a like and an unlike at the same
instant resolve the same way in any arrival order). ``reaction_type`` is the latest like's;
``content_characteristics`` those of the latest toggle. ``toggles`` counts all toggles.
"""

from __future__ import annotations

from typing import Any, ClassVar

from learnstream.log import LogEvent
from projections.fold import Col, FoldProjection, Group, GroupKind, Rule, State

_LIKED_SQL = (
    "(s.liked_at IS NOT NULL AND (s.unliked_at IS NULL "
    "OR (s.liked_at, s.like_event_id) > (s.unliked_at, s.unlike_event_id)))"
)


class LikeEngagementProjection(FoldProjection):
    name = "like_engagement"
    version = 1
    event_types = frozenset({"content.liked", "content.unliked"})
    table_name = "like_engagement"
    indexes = ("(session_id)", "(content_id) WHERE liked")
    columns: ClassVar[tuple[Col, ...]] = (
        Col("content_id", "text", Rule.KEY),
        Col("session_id", "text", Rule.KEY),
        Col("liked", "boolean", Rule.DERIVED, required=True),
        Col("liked_at", "timestamptz", Rule.GROUP, "like"),
        Col("unliked_at", "timestamptz", Rule.GROUP, "unlike"),
        Col("reaction_type", "text", Rule.GROUP, "like"),
        Col("content_characteristics", "jsonb", Rule.DERIVED, required=True),
        Col("toggles", "bigint", Rule.SUM, required=True),
        Col("created_at", "timestamptz", Rule.MIN, required=True),
        Col("updated_at", "timestamptz", Rule.MAX, required=True),
        Col("like_event_id", "uuid", Rule.GROUP, "like", public=False),
        Col("like_characteristics", "jsonb", Rule.GROUP, "like", public=False),
        Col("unlike_event_id", "uuid", Rule.GROUP, "unlike", public=False),
        Col("unlike_characteristics", "jsonb", Rule.GROUP, "unlike", public=False),
    )
    groups = (
        Group(
            "like",
            GroupKind.LATEST,
            ("liked_at", "like_event_id", "reaction_type", "like_characteristics"),
        ),
        Group(
            "unlike", GroupKind.LATEST, ("unliked_at", "unlike_event_id", "unlike_characteristics")
        ),
    )
    lift_sql = """
        SELECT content_id, session_id,
               CASE WHEN liked THEN occurred_at END AS liked_at,
               CASE WHEN liked THEN event_id END AS like_event_id,
               CASE WHEN liked THEN reaction_type END AS reaction_type,
               CASE WHEN liked THEN content_characteristics END AS like_characteristics,
               CASE WHEN NOT liked THEN occurred_at END AS unliked_at,
               CASE WHEN NOT liked THEN event_id END AS unlike_event_id,
               CASE WHEN NOT liked THEN content_characteristics END AS unlike_characteristics,
               1 AS toggles, occurred_at AS created_at, occurred_at AS updated_at
        FROM (SELECT *, event_type = 'content.liked' AS liked FROM log.like_events
              WHERE {upto}) AS l
    """
    derive_sql: ClassVar[dict[str, str]] = {
        "liked": _LIKED_SQL,
        "content_characteristics": (
            f"CASE WHEN {_LIKED_SQL} THEN s.like_characteristics ELSE s.unlike_characteristics END"
        ),
    }

    def lift(self, event: LogEvent, subject: str) -> list[State]:
        p = event.payload
        at = event.occurred_at
        values: dict[str, Any] = {
            "content_id": event.content_id,
            "session_id": event.session_id,
            "toggles": 1,
            "created_at": at,
            "updated_at": at,
        }
        if event.event_type == "content.liked":
            values.update(
                liked_at=at,
                like_event_id=event.event_id,
                reaction_type=p.get("reaction_type", "like"),
                like_characteristics=p["content_characteristics"],
            )
        else:
            values.update(
                unliked_at=at,
                unlike_event_id=event.event_id,
                unlike_characteristics=p["content_characteristics"],
            )
        return [self.empty_lift(**values)]

    def derive(self, state: State) -> State:
        like = (state["liked_at"], state["like_event_id"])
        unlike = (state["unliked_at"], state["unlike_event_id"])
        liked = like[0] is not None and (unlike[0] is None or like > unlike)
        return {
            "liked": liked,
            "content_characteristics": (
                state["like_characteristics"] if liked else state["unlike_characteristics"]
            ),
        }
