"""The learner-model projection: ``read.learner_model_state``, one row per learner, kept
current by the projections runner with the pure fold of :mod:`learner_model.state`.

Each batch: group the events by learner, load those learners' stored fold state, fold the
events in log order with the *current* fitted parameters, upsert. A rebuild replays the log
through the same path, so rebuilt rows equal incrementally built ones (same parameters).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from psycopg import sql
from psycopg.types.json import Jsonb

from learner_model.observations import MODEL_EVENT_TYPES
from learner_model.queries import SELECT_MODEL_STATES, UPSERT_STATE_COLUMNS
from learner_model.state import (
    LearnerState,
    ModelParams,
    fold,
    state_from_json,
    state_to_json,
    view,
)
from learner_model.store import load_current_params
from learnstream.contracts import EVENT_TYPES, Envelope
from projections.fold import replay_rebuild
from projections.projection import Checkpoint, Connection, LogEvent, Projection, ReadTable, Store

STATE_TABLE = "learner_model_state"

_DDL = """
    learner_id               TEXT             PRIMARY KEY,
    comprehension_level      DOUBLE PRECISION NOT NULL,
    comprehension_low        DOUBLE PRECISION NOT NULL,
    comprehension_high       DOUBLE PRECISION NOT NULL,
    ability_logit            DOUBLE PRECISION NOT NULL,
    ability_sd               DOUBLE PRECISION NOT NULL,
    preference_weights       JSONB            NOT NULL,
    content_type_preferences JSONB            NOT NULL,
    difficulty_adjustment    DOUBLE PRECISION NOT NULL,
    data_points              INTEGER          NOT NULL,
    outcomes                 INTEGER          NOT NULL,
    cold_start               BOOLEAN          NOT NULL,
    model_version            TEXT             NOT NULL,
    last_event_at            TIMESTAMPTZ,
    last_position            BIGINT           NOT NULL,
    model_state              JSONB            NOT NULL
"""


def envelope_of(event: LogEvent) -> Envelope:
    """The typed event of a log row (the log stores the full validated payload)."""
    cls = EVENT_TYPES[event.event_type]
    return cls.model_validate({
        "event_id": event.event_id, "event_type": event.event_type,
        "schema_version": event.schema_version, "occurred_at": event.occurred_at,
        "session_id": event.session_id, "learner_id": event.learner_id,
        "content_id": event.content_id, "payload": dict(event.payload),
    })


def subject_of(event: LogEvent | Envelope) -> str:
    return event.learner_id or event.session_id


class LearnerModelProjection(Projection):
    """Learner state per learner (comprehension, preferences, difficulty adjustment)."""

    name: ClassVar[str] = "learner_model"
    version: ClassVar[int] = 1
    event_types: ClassVar[frozenset[str]] = MODEL_EVENT_TYPES
    tables: ClassVar[tuple[ReadTable, ...]] = (
        ReadTable(STATE_TABLE, _DDL, UPSERT_STATE_COLUMNS[:-1], ("(last_position)",)),
    )

    def __init__(self, params: ModelParams | None = None) -> None:
        # Fixed params (tests, benchmarks) or None: read the current fitted version each batch.
        self._fixed = params

    def params(self, conn: Connection) -> ModelParams:
        return self._fixed if self._fixed is not None else load_current_params(conn)

    def apply_batch(self, conn: Connection, events: Sequence[LogEvent], store: Store) -> None:
        if not events:
            return
        params = self.params(conn)
        table = store.table(STATE_TABLE)
        keys = sorted({subject_of(e) for e in events})
        rows = conn.execute(sql.SQL(SELECT_MODEL_STATES).format(table=table), (keys,)).fetchall()
        states: dict[str, LearnerState] = {r[0]: state_from_json(r[1]) for r in rows}
        positions: dict[str, int] = {}
        for e in events:
            key = subject_of(e)
            state = states.get(key) or LearnerState.new(key)
            states[key] = fold(state, envelope_of(e), params)
            positions[key] = e.position
        upsert = _upsert_sql(table)
        with conn.cursor() as cur:
            cur.executemany(upsert, [_row(states[k], params, positions[k]) for k in positions])

    def rebuild(self, conn: Connection, store: Store, upto: Checkpoint) -> None:
        replay_rebuild(self, conn, store, upto)


def _upsert_sql(table: sql.Identifier) -> sql.Composed:
    cols = [sql.Identifier(c) for c in UPSERT_STATE_COLUMNS]
    updates = [sql.SQL("{0} = EXCLUDED.{0}").format(c) for c in cols[1:]]
    return sql.SQL("INSERT INTO {t} ({c}) VALUES ({v}) ON CONFLICT (learner_id) DO UPDATE SET {u}"
                   ).format(t=table, c=sql.SQL(", ").join(cols),
                            v=sql.SQL(", ").join(sql.Placeholder() * len(cols)),
                            u=sql.SQL(", ").join(updates))


def _row(state: LearnerState, params: ModelParams, position: int) -> tuple[Any, ...]:
    v = view(state, params)
    return (v.learner_id, v.comprehension_level, v.comprehension_low, v.comprehension_high,
            v.ability_logit, v.ability_sd, Jsonb(v.preference_weights),
            Jsonb(v.content_type_preferences), v.difficulty_adjustment, v.data_points,
            v.outcomes, v.cold_start, v.model_version, v.last_event_at, position,
            Jsonb(state_to_json(state)))


def stored_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows without the internal fold state, for equality checks."""
    return [{k: v for k, v in r.items() if k != "model_state"} for r in rows]
