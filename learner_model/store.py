"""Fitted model versions in ``learner_model.model_versions``: save, make current, load."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from learner_model.model.state import ModelParams, params_from_json, params_to_json
from learner_model.queries import CLEAR_CURRENT, CURRENT_PARAMS, CURRENT_VERSION, INSERT_VERSION

_cache: dict[str, ModelParams] = {}


def load_current_params(conn: Any) -> ModelParams:
    """The current fitted parameters, or the prior if nothing has been fitted yet.

    Parsed parameters are cached by version: only the version is read on each call, the
    (large) parameter JSON only when the version changed.
    """
    row = conn.execute(CURRENT_VERSION).fetchone()
    if row is None:
        return ModelParams.prior()
    cached = _cache.get(row[0])
    if cached is None:
        full = conn.execute(CURRENT_PARAMS).fetchone()
        if full is None:  # replaced between the two reads: take the prior for this batch
            return ModelParams.prior()
        cached = params_from_json(full[1])
        _cache.clear()
        _cache[full[0]] = cached
    return cached


def save_params(conn: Any, params: ModelParams, *, trained_upto: int, training_rows: int,
                metrics: dict[str, Any]) -> None:
    """Store ``params`` as a new version and make it current (one transaction)."""
    with conn.transaction():
        conn.execute(CLEAR_CURRENT)
        conn.execute(INSERT_VERSION, (params.version, trained_upto, training_rows,
                                      Jsonb(params_to_json(params)), Jsonb(metrics)))
