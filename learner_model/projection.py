"""The learner-model projection: ``read.learner_model_state``, one row per learner, kept
current by the projections runner with the pure fold of :mod:`learner_model.model.state`.

Each batch: group the events by subject, load those subjects' stored fold state, fold the
events in log order with the *current* fitted parameters, upsert. A rebuild replays the log
through the same path, so rebuilt rows equal incrementally built ones (same parameters).

Identity: an event's subject is its ``learner_id``, else the learner its session was
identified as (the earliest ``learner.identified`` by ``(occurred_at, event_id)``), else its
``session_id``. The projection keeps that map in its own table (``learner_model_identities``)
so it does not depend on another projection's progress. The fold is order-dependent, so a
session's state cannot be merged into the learner's: when a session's identification
arrives (or an earlier one replaces it), the affected learners are refolded from the log
(their events and their sessions' anonymous events up to the batch end, in read order) and
the session rows are dropped. That equals a rebuild which knew the identity from the start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from learner_model.model.observations import MODEL_EVENT_TYPES
from learner_model.model.state import (
    LearnerState,
    ModelParams,
    fold,
    state_from_json,
    state_to_json,
    view,
)
from learner_model.queries import (
    DELETE_MODEL_STATES,
    SELECT_IDENTITIES,
    SELECT_MODEL_STATES,
    SESSIONS_OF_LEARNERS,
    UPSERT_IDENTITY,
    UPSERT_STATE_COLUMNS,
)
from learner_model.store import load_current_params
from learnstream.contracts import Topic, topic_for
from learnstream.log import (
    AT_OR_BELOW_SQL,
    IDENTIFIED,
    Checkpoint,
    Connection,
    LogEvent,
    earliest_identifications_sql,
    envelope_of,
    is_earlier,
    read_through,
    subject_of,
)
from projections.fold import replay_rebuild
from projections.projection import Projection, ReadTable, Store

STATE_TABLE = "learner_model_state"
IDENTITY_TABLE = "learner_model_identities"

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

_IDENTITY_DDL = """
    session_id    TEXT        PRIMARY KEY,
    learner_id    TEXT        NOT NULL,
    identified_at TIMESTAMPTZ NOT NULL,
    event_id      UUID        NOT NULL
"""


class LearnerModelProjection(Projection):
    """Learner state per learner (comprehension, preferences, difficulty adjustment)."""

    name: ClassVar[str] = "learner_model"
    # 2: anonymous session history counts for the learner after ``learner.identified``.
    version: ClassVar[int] = 2
    # The online update folds answers in log order (see Projection.order_independent).
    order_independent: ClassVar[bool] = False
    # The identification events re-key sessions; the fold itself ignores them.
    event_types: ClassVar[frozenset[str]] = MODEL_EVENT_TYPES | {IDENTIFIED}
    tables: ClassVar[tuple[ReadTable, ...]] = (
        ReadTable(STATE_TABLE, _DDL, UPSERT_STATE_COLUMNS[:-1], ("(last_position)",)),
        ReadTable(IDENTITY_TABLE, _IDENTITY_DDL,
                  ("session_id", "learner_id", "identified_at", "event_id"), ("(learner_id)",)),
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
        changed = _record_identities(conn, store, events)
        refolded: set[str] = set()
        if changed:
            refolded = self._refold(conn, store, changed, events[-1].checkpoint, params)
        model_events = [e for e in events if e.event_type != IDENTIFIED]
        anonymous = sorted({e.session_id for e in model_events if not e.learner_id})
        identities = _identities_of(conn, store, anonymous)
        keyed = [(subject_of(e, identities), e) for e in model_events]
        # A refolded learner's rows already include this batch's events (read up to its end).
        keyed = [(k, e) for k, e in keyed if k not in refolded]
        if not keyed:
            return
        keys = sorted({k for k, _ in keyed})
        rows = conn.execute(sql.SQL(SELECT_MODEL_STATES).format(table=table), (keys,)).fetchall()
        states: dict[str, LearnerState] = {r[0]: state_from_json(r[1]) for r in rows}
        positions: dict[str, int] = {}
        for key, e in keyed:
            state = states.get(key) or LearnerState.new(key)
            states[key] = fold(state, envelope_of(e), params)
            positions[key] = e.position
        upsert = _upsert_sql(table)
        with conn.cursor() as cur:
            cur.executemany(upsert, [_row(states[k], params, positions[k]) for k in positions])

    def _refold(
        self,
        conn: Connection,
        store: Store,
        changed: Mapping[str, tuple[str, str | None]],
        upto: Checkpoint,
        params: ModelParams,
    ) -> set[str]:
        """Recompute every learner whose sessions changed, from the log up to ``upto``; drop
        the changed sessions' own rows. Returns the refolded learners."""
        learners = sorted({lid for new, old in changed.values() for lid in (new, old) if lid})
        mapped = conn.execute(
            sql.SQL(SESSIONS_OF_LEARNERS).format(table=store.table(IDENTITY_TABLE)), (learners,)
        ).fetchall()
        identities = {str(r[0]): str(r[1]) for r in mapped}
        states: dict[str, LearnerState] = {}
        positions: dict[str, int] = {}
        for e in _subject_events(conn, self.families, learners, sorted(identities), upto):
            key = subject_of(e, identities)
            state = states.get(key) or LearnerState.new(key)
            states[key] = fold(state, envelope_of(e), params)
            positions[key] = e.position
        table = store.table(STATE_TABLE)
        # Deleted first: a learner left without events keeps no row (as in a rebuild).
        conn.execute(sql.SQL(DELETE_MODEL_STATES).format(table=table),
                     (sorted(set(learners) | set(changed)),))
        with conn.cursor() as cur:
            cur.executemany(_upsert_sql(table),
                            [_row(states[k], params, positions[k]) for k in positions])
        return set(learners)

    def rebuild(self, conn: Connection, store: Store, upto: Checkpoint) -> None:
        # The whole identity map first: replayed identifications then change nothing, so each
        # event is folded once, in log order, under its final subject.
        conn.execute(
            sql.SQL("INSERT INTO {table} (session_id, learner_id, identified_at, event_id) "
                    ).format(table=store.table(IDENTITY_TABLE))
            + sql.SQL(earliest_identifications_sql("log.catalog_events", AT_OR_BELOW_SQL)),
            {"tx": str(upto.tx_id), "pos": upto.position},
        )
        replay_rebuild(self, conn, store, upto)


def _record_identities(
    conn: Connection, store: Store, events: Sequence[LogEvent]
) -> dict[str, tuple[str, str | None]]:
    """Store the batch's identifications that are the earliest of their session; return
    ``session -> (new learner, previous learner or None)`` for the sessions that changed."""
    earliest: dict[str, tuple[datetime, UUID, str]] = {}
    for e in events:
        if e.event_type != IDENTIFIED or not e.learner_id:
            continue
        known = earliest.get(e.session_id)
        if is_earlier((e.occurred_at, e.event_id), None if known is None else known[:2]):
            earliest[e.session_id] = (e.occurred_at, e.event_id, e.learner_id)
    if not earliest:
        return {}
    table = store.table(IDENTITY_TABLE)
    stored = {
        str(r[0]): (r[2], r[3], str(r[1]))
        for r in conn.execute(sql.SQL(SELECT_IDENTITIES).format(table=table),
                              (sorted(earliest),)).fetchall()
    }
    changed: dict[str, tuple[str, str | None]] = {}
    for session, (at, event_id, learner) in sorted(earliest.items()):
        previous = stored.get(session)
        if not is_earlier((at, event_id), None if previous is None else previous[:2]):
            continue
        changed[session] = (learner, None if previous is None else previous[2])
        conn.execute(sql.SQL(UPSERT_IDENTITY).format(table=table),
                     (session, learner, at, event_id))
    return changed


def _identities_of(conn: Connection, store: Store, sessions: Sequence[str]) -> dict[str, str]:
    if not sessions:
        return {}
    rows = conn.execute(
        sql.SQL(SELECT_IDENTITIES).format(table=store.table(IDENTITY_TABLE)), (list(sessions),)
    ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def _subject_events(
    conn: Connection,
    families: Iterable[Topic],
    learners: Sequence[str],
    sessions: Sequence[str],
    upto: Checkpoint,
) -> list[LogEvent]:
    """The model events of ``learners`` and of the anonymous ``sessions``, at or below
    ``upto``, in log read order ``(tx_id, position)`` across the log tables."""
    wanted = {topic_for(t) for t in MODEL_EVENT_TYPES} & set(families)
    return read_through(conn, wanted, MODEL_EVENT_TYPES, upto, learners=learners,
                        sessions=sessions)


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
