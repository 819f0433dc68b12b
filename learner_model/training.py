"""Batch refit from the log: read the model's events, fit, store a new current version."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from psycopg import sql

from learner_model.fit import FitConfig, fit_model, labelled
from learner_model.observations import MODEL_EVENT_TYPES
from learner_model.queries import LEARNER_EVENTS, TRAINING_EVENTS
from learner_model.state import ModelParams
from learner_model.store import save_params
from learnstream.contracts import EVENT_TYPES, LOG_TABLES, Envelope, topic_for

_TABLES = sorted({LOG_TABLES[topic_for(t)] for t in MODEL_EVENT_TYPES})


def _envelope(row: tuple[Any, ...]) -> tuple[int, Envelope]:
    position, event_id, event_type, version, occurred, session, learner, content, payload, ctx = row
    event = EVENT_TYPES[event_type].model_validate({
        "event_id": event_id, "event_type": event_type, "schema_version": version,
        "occurred_at": occurred, "session_id": session, "learner_id": learner,
        "content_id": content, "payload": payload, "context": ctx or {}})
    return int(position), event


def log_events(conn: Any) -> Iterator[tuple[int, Envelope]]:
    """Every event the model uses, merged across log tables in position order."""
    streams = []
    types = sorted(MODEL_EVENT_TYPES)
    for table in _TABLES:
        query = sql.SQL(TRAINING_EVENTS).format(table=sql.Identifier(table))
        streams.append(_envelope(r) for r in conn.execute(query, (types,)).fetchall())
    yield from heapq.merge(*streams, key=lambda pe: pe[0])


def learner_events(conn: Any, learner_id: str) -> list[tuple[int, Envelope]]:
    """One learner's model events in position order (learner id or anonymous session)."""
    streams = []
    types = sorted(MODEL_EVENT_TYPES)
    for table in _TABLES:
        query = sql.SQL(LEARNER_EVENTS).format(table=sql.Identifier(table))
        streams.append([_envelope(r) for r in
                        conn.execute(query, (learner_id, learner_id, types)).fetchall()])
    return list(heapq.merge(*streams, key=lambda pe: pe[0]))


def fit_from_log(conn: Any, config: FitConfig) -> tuple[ModelParams, int, int]:
    """(params, log position trained up to, graded answers used); stored as current."""
    events = list(log_events(conn))
    upto = events[-1][0] if events else 0
    envelopes = [e for _, e in events]
    params = fit_model(envelopes, config)
    rows = len(labelled(envelopes))
    save_params(conn, params, trained_upto=upto, training_rows=rows,
                metrics={"config": {"c": config.c, "theta_prior_var": config.theta_prior_var}})
    return params, upto, rows
