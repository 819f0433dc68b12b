"""Batch refit from the log: read the model's events, fit, store a new current version.
Every read goes through :mod:`learnstream.log` (the gap rule, the one converter, the identity
rule)."""

from __future__ import annotations

from typing import Any

from learner_model.model.fit import FitConfig, fit_model, labelled
from learner_model.model.observations import MODEL_EVENT_TYPES
from learner_model.model.state import ModelParams
from learner_model.store import save_params
from learnstream.contracts import Envelope, topic_for
from learnstream.log import (
    Checkpoint,
    earliest_identifications_sql,
    envelope_of,
    frontier,
    read_through,
)

_FAMILIES = frozenset(topic_for(t) for t in MODEL_EVENT_TYPES)

#: The sessions identified as one learner (the identity rule), within the read bound.
_SESSIONS_OF = (
    "SELECT session_id FROM ("
    + earliest_identifications_sql(
        "log.catalog_events", "(tx_id, position) <= (%(tx)s::text::xid8, %(pos)s)"
    )
    + ") AS i WHERE learner_id = %(learner)s"
)


def log_events(conn: Any) -> list[tuple[int, Envelope]]:
    """Every event the model uses, readable now, in log read order, with its position."""
    upto = frontier(conn, _FAMILIES)
    if upto is None:
        return []
    return [(e.position, envelope_of(e)) for e in read_through(conn, _FAMILIES,
                                                               MODEL_EVENT_TYPES, upto)]


def learner_events(conn: Any, learner_id: str) -> list[tuple[int, Envelope]]:
    """One learner's model events in log read order: their own, and the anonymous events of
    the sessions identified as them."""
    upto = frontier(conn, _FAMILIES | {topic_for("learner.identified")}) or Checkpoint.START
    sessions = [str(r[0]) for r in conn.execute(
        _SESSIONS_OF, {"tx": str(upto.tx_id), "pos": upto.position, "learner": learner_id}
    ).fetchall()]
    rows = read_through(conn, _FAMILIES, MODEL_EVENT_TYPES, upto, learners=[learner_id],
                        sessions=[learner_id, *sessions])
    return [(e.position, envelope_of(e)) for e in rows]


def fit_from_log(conn: Any, config: FitConfig) -> tuple[ModelParams, int, int]:
    """(params, log position trained up to, graded answers used); stored as current."""
    events = log_events(conn)
    upto = max((p for p, _ in events), default=0)
    envelopes = [e for _, e in events]
    params = fit_model(envelopes, config)
    rows = len(labelled(envelopes))
    save_params(conn, params, trained_upto=upto, training_rows=rows,
                metrics={"config": {"c": config.c, "theta_prior_var": config.theta_prior_var}})
    return params, upto, rows
