"""Catalog read models (seeds 000, 001, 002): ``content`` (+ view ``generated_content``),
``content_validation_history`` and ``generation_status`` (+ view ``content_generation_jobs``).

- ``content``: per content id, every column from the latest ``content.generated`` by
  ``(occurred_at, event_id)`` (a regenerated piece replaces its metadata); ``created_at`` /
  ``updated_at`` = first / last generation, ``versions`` = how many.
- ``content_validation_history``: one row per ``content.validated`` event (append-only).
- ``generation_status``: per job, the status (and its error, webhook, estimate) of the latest
  ``generation.status_changed`` by ``(occurred_at, event_id)`` - the rule for any arrival
  order; a client clock that lies reorders statuses, which the log keeps for audit.
  ``started_at`` = first event, ``completed_at`` = first terminal (completed/failed) event,
  ``request_payload`` = from the earliest event carrying one, ``content_id`` = the produced
  content (greatest id if several events name one).
"""

from __future__ import annotations

from typing import Any, ClassVar

from learnstream.log import LogEvent
from projections.fold import Col, FoldProjection, Group, GroupKind, Rule, State

# (column, pg type) of content.generated payload fields kept on the row.
_CONTENT_FIELDS = (
    ("title", "text"),
    ("description", "text"),
    ("content_kind", "text"),
    ("format", "text"),
    ("genre", "text"),
    ("sub_genre", "text"),
    ("topic", "text"),
    ("difficulty", "text"),
    ("difficulty_score", "float8"),
    ("estimated_comprehension_level", "text"),
    ("duration", "integer"),
    ("word_count", "integer"),
    ("audio_url", "text"),
    ("audio_format", "text"),
    ("audio_bitrate", "integer"),
    ("audio_size", "bigint"),
    ("template_id", "text"),
    ("template_version", "text"),
    ("model_parameters", "jsonb"),
    ("generated_by", "text"),
    ("generation_id", "text"),
    ("episode_number", "integer"),
    ("series_id", "text"),
    ("related_content_ids", "jsonb"),
    ("language", "text"),
    ("locale", "text"),
    ("learning_objectives", "jsonb"),
    ("estimated_completion_time", "integer"),
    ("metadata", "jsonb"),
)
_DDL_TYPE = {"float8": "DOUBLE PRECISION"}


def _payload_sql(name: str, pg_type: str) -> str:
    if pg_type == "jsonb":
        return f"payload->'{name}' AS {name}"
    return f"(payload->>'{name}')::{pg_type} AS {name}"


def _payload_value(payload: Any, name: str, pg_type: str) -> Any:
    value = payload.get(name)
    return float(value) if value is not None and pg_type == "float8" else value


class ContentProjection(FoldProjection):
    name = "content"
    version = 1
    event_types = frozenset({"content.generated"})
    table_name = "content"
    indexes = (
        "(format)",
        "(genre)",
        "(difficulty)",
        "(generated_at)",
        "(series_id) WHERE series_id IS NOT NULL",
    )
    _latest = (
        "generated_at",
        "event_id",
        "session_id",
        "learner_id",
        *(n for n, _ in _CONTENT_FIELDS),
    )
    columns: ClassVar[tuple[Col, ...]] = (
        Col("content_id", "text", Rule.KEY),
        Col("title", "text", Rule.GROUP, "gen"),
        Col("description", "text", Rule.GROUP, "gen"),
        Col("content_kind", "text", Rule.GROUP, "gen"),
        Col("format", "text", Rule.GROUP, "gen"),
        Col("genre", "text", Rule.GROUP, "gen"),
        Col("sub_genre", "text", Rule.GROUP, "gen"),
        Col("topic", "text", Rule.GROUP, "gen"),
        Col("difficulty", "text", Rule.GROUP, "gen"),
        Col("difficulty_score", "float8", Rule.GROUP, "gen"),
        Col("estimated_comprehension_level", "text", Rule.GROUP, "gen"),
        Col("duration", "integer", Rule.GROUP, "gen"),
        Col("word_count", "integer", Rule.GROUP, "gen"),
        Col("audio_url", "text", Rule.GROUP, "gen"),
        Col("audio_format", "text", Rule.GROUP, "gen"),
        Col("audio_bitrate", "integer", Rule.GROUP, "gen"),
        Col("audio_size", "bigint", Rule.GROUP, "gen"),
        Col("template_id", "text", Rule.GROUP, "gen"),
        Col("template_version", "text", Rule.GROUP, "gen"),
        Col("model_parameters", "jsonb", Rule.GROUP, "gen"),
        Col("generated_by", "text", Rule.GROUP, "gen"),
        Col("generation_id", "text", Rule.GROUP, "gen"),
        Col("episode_number", "integer", Rule.GROUP, "gen"),
        Col("series_id", "text", Rule.GROUP, "gen"),
        Col("related_content_ids", "jsonb", Rule.GROUP, "gen"),
        Col("language", "text", Rule.GROUP, "gen"),
        Col("locale", "text", Rule.GROUP, "gen"),
        Col("learning_objectives", "jsonb", Rule.GROUP, "gen"),
        Col("estimated_completion_time", "integer", Rule.GROUP, "gen"),
        Col("metadata", "jsonb", Rule.GROUP, "gen"),
        Col("generated_at", "timestamptz", Rule.GROUP, "gen", required=True),
        Col("session_id", "text", Rule.GROUP, "gen", required=True),
        Col("learner_id", "text", Rule.GROUP, "gen"),
        Col("versions", "integer", Rule.SUM, required=True),
        Col("created_at", "timestamptz", Rule.MIN, required=True),
        Col("updated_at", "timestamptz", Rule.MAX, required=True),
        Col("event_id", "uuid", Rule.GROUP, "gen", required=True, public=False),
    )
    groups = (Group("gen", GroupKind.LATEST, _latest),)
    derived_views = (
        (
            "generated_content",
            """SELECT content_id AS id, learner_id AS user_id, content_kind AS type,
                      title, format, genre, difficulty, metadata,
                      estimated_completion_time, learning_objectives, created_at, updated_at
               FROM read.content""",
        ),
    )
    lift_sql = (
        "SELECT content_id, occurred_at AS generated_at, event_id, session_id, learner_id, "
        + ", ".join(_payload_sql(n, t) for n, t in _CONTENT_FIELDS)
        + ", 1 AS versions, occurred_at AS created_at, occurred_at AS updated_at "
        "FROM log.catalog_events WHERE {upto} AND event_type = 'content.generated'"
    )

    def lift(self, event: LogEvent, subject: str) -> list[State]:
        at = event.occurred_at
        values: dict[str, Any] = {
            n: _payload_value(event.payload, n, t) for n, t in _CONTENT_FIELDS
        }
        values.update(
            content_id=event.content_id,
            generated_at=at,
            event_id=event.event_id,
            session_id=event.session_id,
            learner_id=event.learner_id,
            versions=1,
            created_at=at,
            updated_at=at,
        )
        return [self.empty_lift(**values)]


class ContentValidationProjection(FoldProjection):
    name = "content_validation_history"
    version = 1
    event_types = frozenset({"content.validated"})
    table_name = "content_validation_history"
    indexes = ("(content_id, attempt_number)",)
    _fields = (
        "created_at",
        "attempt_number",
        "content_id",
        "passed",
        "validation_score",
        "validation_result",
    )
    columns: ClassVar[tuple[Col, ...]] = (
        Col("id", "uuid", Rule.KEY),
        Col("content_id", "text", Rule.GROUP, "v", required=True),
        Col("attempt_number", "integer", Rule.GROUP, "v", required=True),
        Col("passed", "boolean", Rule.GROUP, "v", required=True),
        Col("validation_score", "float8", Rule.GROUP, "v"),
        Col("validation_result", "jsonb", Rule.GROUP, "v", required=True),
        Col("created_at", "timestamptz", Rule.GROUP, "v", required=True),
    )
    # One event per row: the group only carries the values (its tie-break never competes).
    groups = (Group("v", GroupKind.LATEST, _fields),)
    lift_sql = """
        SELECT event_id AS id, occurred_at AS created_at,
               (payload->>'attempt_number')::integer AS attempt_number, content_id,
               (payload->>'passed')::boolean AS passed,
               (payload->>'validation_score')::float8 AS validation_score,
               coalesce(payload->'validation_result', '{}') AS validation_result
        FROM log.catalog_events WHERE {upto} AND event_type = 'content.validated'
    """

    def lift(self, event: LogEvent, subject: str) -> list[State]:
        p = event.payload
        score = p.get("validation_score")
        return [
            self.empty_lift(
                id=event.event_id,
                content_id=event.content_id,
                attempt_number=int(p["attempt_number"]),
                passed=bool(p["passed"]),
                validation_score=None if score is None else float(score),
                validation_result=p.get("validation_result", {}),
                created_at=event.occurred_at,
            )
        ]


_STATE = (
    ("status_at", "timestamptz"),
    ("status_event_id", "uuid"),
    ("status", "text"),
    ("error_message", "text"),
    ("estimated_completion_time", "integer"),
    ("webhook_url", "text"),
    ("session_id", "text"),
    ("learner_id", "text"),
)
_TERMINAL = ("completed", "failed")


class GenerationStatusProjection(FoldProjection):
    name = "generation_status"
    version = 1
    event_types = frozenset({"generation.status_changed"})
    table_name = "generation_status"
    indexes = ("(session_id)", "(status)", "(started_at)")
    columns: ClassVar[tuple[Col, ...]] = (
        Col("generation_id", "text", Rule.KEY),
        Col("session_id", "text", Rule.GROUP, "state", required=True),
        Col("learner_id", "text", Rule.GROUP, "state"),
        Col("status", "text", Rule.GROUP, "state", required=True),
        Col("content_id", "text", Rule.MAX),
        Col("webhook_url", "text", Rule.GROUP, "state"),
        Col("webhook_sent", "boolean", Rule.DERIVED, required=True),
        Col("error_message", "text", Rule.GROUP, "state"),
        Col("estimated_completion_time", "integer", Rule.GROUP, "state"),
        Col("request_payload", "jsonb", Rule.GROUP, "request"),
        Col("started_at", "timestamptz", Rule.MIN, required=True),
        Col("completed_at", "timestamptz", Rule.MIN),
        Col("updated_at", "timestamptz", Rule.MAX, required=True),
        Col("transitions", "integer", Rule.SUM, required=True),
        Col("status_at", "timestamptz", Rule.GROUP, "state", required=True, public=False),
        Col("status_event_id", "uuid", Rule.GROUP, "state", required=True, public=False),
        Col("request_at", "timestamptz", Rule.GROUP, "request", public=False),
        Col("request_event_id", "uuid", Rule.GROUP, "request", public=False),
    )
    groups = (
        Group("state", GroupKind.LATEST, tuple(n for n, _ in _STATE)),
        Group("request", GroupKind.EARLIEST, ("request_at", "request_event_id", "request_payload")),
    )
    derived_views = (
        (
            "content_generation_jobs",
            """SELECT generation_id AS id, learner_id AS user_id, status, request_payload,
                      content_id AS result_content_id, error_message,
                      started_at AS created_at, updated_at
               FROM read.generation_status""",
        ),
    )
    lift_sql = """
        SELECT generation_id, occurred_at AS status_at, event_id AS status_event_id, status,
               payload->>'error_message' AS error_message,
               (payload->>'estimated_completion_time')::integer AS estimated_completion_time,
               payload->>'webhook_url' AS webhook_url, session_id, learner_id, content_id,
               CASE WHEN payload ? 'request_payload' THEN occurred_at END AS request_at,
               CASE WHEN payload ? 'request_payload' THEN event_id END AS request_event_id,
               payload->'request_payload' AS request_payload,
               occurred_at AS started_at,
               CASE WHEN status IN ('completed', 'failed') THEN occurred_at END AS completed_at,
               occurred_at AS updated_at, 1 AS transitions
        FROM log.catalog_events
        WHERE {upto} AND event_type = 'generation.status_changed'
    """
    derive_sql: ClassVar[dict[str, str]] = {"webhook_sent": "false"}

    def lift(self, event: LogEvent, subject: str) -> list[State]:
        p = event.payload
        at = event.occurred_at
        values: dict[str, Any] = {
            "generation_id": p["generation_id"],
            "status_at": at,
            "status_event_id": event.event_id,
            "status": p["status"],
            "error_message": p.get("error_message"),
            "estimated_completion_time": p.get("estimated_completion_time"),
            "webhook_url": p.get("webhook_url"),
            "session_id": event.session_id,
            "learner_id": event.learner_id,
            "content_id": event.content_id,
            "started_at": at,
            "updated_at": at,
            "transitions": 1,
            "completed_at": at if p["status"] in _TERMINAL else None,
        }
        if "request_payload" in p:
            values.update(
                request_at=at,
                request_event_id=event.event_id,
                request_payload=p["request_payload"],
            )
        return [self.empty_lift(**values)]

    def derive(self, state: State) -> State:
        return {"webhook_sent": False}
