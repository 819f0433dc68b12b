"""Batch refit: scikit-learn logistic regression over the Polars features.

Fractional outcomes (a 7/10 score) enter as two weighted rows (y=1 with weight 0.7, y=0 with
weight 0.3), which is the maximum-likelihood treatment of a binomial proportion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from learner_model.evaluation.baselines import Labelled
from learner_model.model.ability import DENSE_FEATURES, AbilityParams
from learner_model.model.features import Vocabulary, design_matrix, feature_frame, outcomes_frame
from learner_model.model.observations import learner_key, outcome_of, signal_of
from learner_model.model.state import ModelParams
from learnstream.contracts import Envelope


@dataclass(frozen=True, slots=True)
class FitConfig:
    """Hyper-parameters of one fit. ``c`` is sklearn's inverse L2 strength."""

    c: float = 1.0
    window: int = 10
    skill_window: int = 5
    theta_prior_var: float = 0.3
    theta_drift_var: float = 0.0
    max_iter: int = 300


def fit_ability(outcomes: pl.DataFrame, config: FitConfig = FitConfig()) -> AbilityParams:
    """Fit item, skill and count coefficients on ``outcomes`` (see ``features``)."""
    rows, per_skill = feature_frame(outcomes, config.window, config.skill_window)
    vocab = Vocabulary.of(rows, per_skill)
    x = design_matrix(rows, per_skill, vocab)
    value = rows["value"].to_numpy()
    binary = bool(np.all((value == 0.0) | (value == 1.0)))
    if binary:
        y, w = value.astype(int), None
        xs = x
    else:
        from scipy import sparse

        xs = sparse.vstack([x, x]).tocsr()
        y = np.concatenate([np.ones(len(value), int), np.zeros(len(value), int)])
        w = np.concatenate([value, 1.0 - value])
        keep = w > 0
        xs, y, w = xs[keep], y[keep], w[keep]
    if len(set(y.tolist())) < 2:
        # All answers right (or all wrong): no contrast to fit; keep the prior shape.
        rate = float(value.mean()) if len(value) else 0.5
        rate = min(max(rate, 1e-3), 1 - 1e-3)
        return replace(AbilityParams.prior(), intercept=float(np.log(rate / (1 - rate))),
                       version=_version(outcomes, config))
    model = LogisticRegression(C=config.c, max_iter=config.max_iter, solver="lbfgs")
    model.fit(xs, y, sample_weight=w)
    coef = model.coef_[0]
    n_items, n_skills = len(vocab.items), len(vocab.skills)
    items = dict(zip(vocab.items, coef[:n_items].tolist(), strict=True))
    skill = coef[n_items:n_items + n_skills]
    sc = coef[n_items + n_skills:n_items + 2 * n_skills]
    sw = coef[n_items + 2 * n_skills:n_items + 3 * n_skills]
    dense = coef[n_items + 3 * n_skills:]
    return AbilityParams(
        version=_version(outcomes, config),
        intercept=float(model.intercept_[0]),
        item=items,
        skill=dict(zip(vocab.skills, skill.tolist(), strict=True)),
        skill_correct=dict(zip(vocab.skills, sc.tolist(), strict=True)),
        skill_wrong=dict(zip(vocab.skills, sw.tolist(), strict=True)),
        dense=dict(zip(DENSE_FEATURES, dense.tolist(), strict=True)),
        default_skill_correct=float(np.mean(sc)) if n_skills else 0.0,
        default_skill_wrong=float(np.mean(sw)) if n_skills else 0.0,
        window=config.window,
        skill_window=config.skill_window,
        theta_prior_var=config.theta_prior_var,
        theta_drift_var=config.theta_drift_var,
    )


def _version(outcomes: pl.DataFrame, config: FitConfig) -> str:
    """A content address of the fit: same data and config, same version string."""
    digest = hashlib.sha256(repr(config).encode())
    digest.update(str(outcomes.height).encode())
    if outcomes.height:
        digest.update(str(outcomes["seq"].max()).encode())
        digest.update(str(outcomes.select(pl.col("value").sum()).item()).encode())
        digest.update(str(outcomes["learner"].n_unique()).encode())
    return "lr-" + digest.hexdigest()[:12]


def fit_population_preferences(signals: pl.DataFrame) -> tuple[dict[str, float],
                                                                dict[str, float]]:
    """Population mean signal per characteristic key and per content type.

    ``signals`` has columns ``keys: list[str], content_type: str | None, strength: f64``.
    """
    if signals.height == 0:
        return {}, {}
    by_key = (signals.select("keys", "strength").explode("keys").drop_nulls("keys")
              .group_by("keys").agg(pl.col("strength").mean()))
    by_type = (signals.drop_nulls("content_type").group_by("content_type")
               .agg(pl.col("strength").mean()))
    return (dict(zip(by_key["keys"].to_list(), by_key["strength"].to_list(), strict=True)),
            dict(zip(by_type["content_type"].to_list(), by_type["strength"].to_list(),
                     strict=True)))


def labelled(events: Iterable[Envelope]) -> list[Labelled]:
    out: list[Labelled] = []
    for e in events:
        o = outcome_of(e)
        if o is not None:
            out.append((learner_key(e), o))
    return out


def fit_params(train: Sequence[Labelled], config: FitConfig) -> ModelParams:
    frame = outcomes_frame((lid, i, o.item_id, o.skills, o.value, o.declared)
                           for i, (lid, o) in enumerate(train))
    ability = fit_ability(frame, config)
    return ModelParams(ability.version, ability)


def fit_model(train: Sequence[Envelope], config: FitConfig) -> ModelParams:
    params = fit_params(labelled(train), config)
    rows = [(list(s.keys), s.content_type, s.strength)
            for s in (signal_of(e) for e in train) if s is not None]
    signals = pl.DataFrame(rows, schema={"keys": pl.List(pl.String), "content_type": pl.String,
                                         "strength": pl.Float64}, orient="row")
    pop, pop_types = fit_population_preferences(signals)
    return ModelParams(params.version, params.ability, pop, pop_types)
