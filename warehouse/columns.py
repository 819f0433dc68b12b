"""The columns of the exported ``events`` table: one wide table for the five log families.

Each column has an Arrow type and, per log table, the SQL expression that fills it (absent:
NULL). Typed payload fields the jobs need (listen-through, format, scores...) are promoted
here once, so no job parses JSON; the full payload and context stay as JSON text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from learnstream.contracts import Topic
from learnstream.log import LOG_TABLES

BEHAVIOR = LOG_TABLES[Topic.BEHAVIOR]
LIKES = LOG_TABLES[Topic.LIKES]
ACTIVITY = LOG_TABLES[Topic.ACTIVITY]
LEARNING = LOG_TABLES[Topic.LEARNING]
CATALOG = LOG_TABLES[Topic.CATALOG]

#: The log tables the export follows, in the order their rows are unioned.
LOG_FAMILIES: tuple[str, ...] = (BEHAVIOR, LIKES, ACTIVITY, LEARNING, CATALOG)

_CC = "content_characteristics"


@dataclass(frozen=True, slots=True)
class ExportColumn:
    """One exported column: its name, Arrow type and per-family SQL expression."""

    name: str
    arrow_type: pa.DataType
    common: str | None = None
    per_family: dict[str, str] = field(default_factory=dict)

    def expression(self, family: str) -> str:
        """The SQL that fills this column for ``family``'s rows (a cast NULL if none)."""
        sql = self.common or self.per_family.get(family)
        return sql if sql is not None else f"NULL::{_PG_TYPES[self.arrow_type]}"


_PG_TYPES: dict[pa.DataType, str] = {
    pa.int64(): "bigint",
    pa.int32(): "integer",
    pa.float64(): "float8",
    pa.string(): "text",
    pa.bool_(): "boolean",
    pa.date32(): "date",
}

_CHARACTERISTIC_FAMILIES = (BEHAVIOR, LIKES)
_F8, _TEXT, _I32 = pa.float64(), pa.string(), pa.int32()


def _characteristic(key: str, cast: str = "") -> dict[str, str]:
    expr = f"({_CC}->>'{key}'){cast}"
    return dict.fromkeys(_CHARACTERISTIC_FAMILIES, expr)


def _payload(key: str, cast: str = "") -> str:
    return f"(payload->>'{key}'){cast}"


#: Timestamps travel as epoch microseconds (exact, cheap to parse): see TIMESTAMP_COLUMNS.
EXPORT_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("position", pa.int64(), "position"),
    # xid8 is an unsigned 64-bit epoch-extended xid; real values fit a bigint.
    ExportColumn("tx_id", pa.int64(), "tx_id::text::bigint"),
    ExportColumn("event_id", _TEXT, "event_id::text"),
    ExportColumn("event_type", _TEXT, "event_type"),
    ExportColumn("schema_version", _I32, "schema_version::integer"),
    ExportColumn("occurred_at", pa.int64(), "(extract(epoch FROM occurred_at) * 1000000)::bigint"),
    ExportColumn("received_at", pa.int64(), "(extract(epoch FROM received_at) * 1000000)::bigint"),
    ExportColumn("event_date", pa.date32(), "(occurred_at AT TIME ZONE 'UTC')::date"),
    ExportColumn("session_id", _TEXT, "session_id"),
    ExportColumn("learner_id", _TEXT, "learner_id"),
    ExportColumn("content_id", _TEXT, "content_id"),
    ExportColumn("family", _TEXT, per_family={f: f"'{f}'::text" for f in LOG_FAMILIES}),
    ExportColumn("playback_position", _F8, per_family={BEHAVIOR: "playback_position::float8"}),
    ExportColumn(
        "playback_percent", _F8, per_family={BEHAVIOR: "playback_position_percent::float8"}
    ),
    ExportColumn(
        "duration",
        _F8,
        per_family={BEHAVIOR: "duration::float8", CATALOG: _payload("duration", "::float8")},
    ),
    ExportColumn(
        "playback_rate", _F8, per_family={BEHAVIOR: _payload("playback_rate", "::float8")}
    ),
    ExportColumn("format", _TEXT, per_family={**_characteristic("format"), CATALOG: "format"}),
    ExportColumn("genre", _TEXT, per_family={**_characteristic("genre"), CATALOG: "genre"}),
    ExportColumn("topic", _TEXT, per_family={**_characteristic("topic"), CATALOG: "topic"}),
    ExportColumn(
        "difficulty", _TEXT, per_family={**_characteristic("difficulty"), CATALOG: "difficulty"}
    ),
    ExportColumn(
        "difficulty_score",
        _F8,
        per_family={
            **_characteristic("difficulty_score", "::float8"),
            CATALOG: _payload("difficulty_score", "::float8"),
        },
    ),
    ExportColumn("level", _TEXT, per_family=_characteristic("level")),
    ExportColumn("reaction_type", _TEXT, per_family={LIKES: "reaction_type"}),
    ExportColumn("content_type", _TEXT, per_family={ACTIVITY: "content_type"}),
    ExportColumn("rating", _I32, per_family={ACTIVITY: "rating::integer"}),
    ExportColumn("related_event_id", _TEXT, per_family={ACTIVITY: "related_event_id::text"}),
    ExportColumn("course_id", _TEXT, per_family={LEARNING: "course_id"}),
    ExportColumn("lesson_id", _TEXT, per_family={LEARNING: "lesson_id"}),
    ExportColumn("assessment_id", _TEXT, per_family={LEARNING: "assessment_id"}),
    ExportColumn("score", _F8, per_family={LEARNING: "score::float8"}),
    ExportColumn("max_score", _F8, per_family={LEARNING: "max_score::float8"}),
    ExportColumn(
        "passing_score", _F8, per_family={LEARNING: _payload("passing_score", "::float8")}
    ),
    ExportColumn("attempt_number", _I32, per_family={LEARNING: "attempt_number"}),
    ExportColumn("time_taken", _I32, per_family={LEARNING: "time_taken"}),
    ExportColumn(
        "time_spent_delta", _I32, per_family={LEARNING: _payload("time_spent_delta", "::integer")}
    ),
    ExportColumn("generation_id", _TEXT, per_family={CATALOG: "generation_id"}),
    ExportColumn("status", _TEXT, per_family={CATALOG: "status"}),
    ExportColumn("passed", pa.bool_(), per_family={CATALOG: _payload("passed", "::boolean")}),
    ExportColumn(
        "validation_score", _F8, per_family={CATALOG: _payload("validation_score", "::float8")}
    ),
    ExportColumn("payload", _TEXT, "payload::text"),
    ExportColumn("context", _TEXT, "context::text"),
)

TIMESTAMP_COLUMNS: tuple[str, ...] = ("occurred_at", "received_at")
_TIMESTAMP = pa.timestamp("us", tz="UTC")

#: The Arrow schema of the events Parquet files (timestamps already converted).
EVENTS_SCHEMA: pa.Schema = pa.schema(
    [
        pa.field(c.name, _TIMESTAMP if c.name in TIMESTAMP_COLUMNS else c.arrow_type)
        for c in EXPORT_COLUMNS
    ]
)

#: The wire schema (what a transport returns, before timestamps are converted).
WIRE_SCHEMA: pa.Schema = pa.schema([pa.field(c.name, c.arrow_type) for c in EXPORT_COLUMNS])
