"""The benchmark harness: fit on a training stream, replay a test stream through the live
fold, predict every graded answer from the learner's earlier events only, and score the
model and the baselines on the same rows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from learner_model.evaluation.baselines import Labelled, standard_baselines
from learner_model.evaluation.metrics import bootstrap_by_learner, scores
from learner_model.model.ability import fixed_logit, sigmoid
from learner_model.model.fit import FitConfig, fit_params, labelled
from learner_model.model.observations import learner_key, outcome_of
from learner_model.model.state import LearnerState, ModelParams, fold
from learnstream.contracts import Envelope

MODEL = "learner-model"
MODEL_NO_THETA = "learner-model (no theta)"
#: Bins of "answers the learner gave before this one" for the breakdown.
ATTEMPT_BINS: tuple[tuple[int, int], ...] = ((0, 0), (1, 4), (5, 19), (20, 99), (100, 10**9))


@dataclass
class Replay:
    """Per-row results of replaying a test stream."""

    learner: list[int] = field(default_factory=list)
    prior: list[int] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    p: dict[str, list[float]] = field(default_factory=dict)
    fold_seconds: float = 0.0
    folds: int = 0
    states: dict[str, LearnerState] = field(default_factory=dict)


def replay(events: Iterable[Envelope], params: ModelParams,
           baselines: Sequence[Any] = (), *, score_from: datetime | None = None,
           on_outcome: Callable[[Envelope, LearnerState], None] | None = None) -> Replay:
    """Predict each graded answer before folding it; time the fold. With ``score_from``,
    answers that occurred earlier only update the states (a time-based split)."""
    r = Replay(p={MODEL: [], MODEL_NO_THETA: [], **{b.name: [] for b in baselines}})
    ids: dict[str, int] = {}
    clock = time.perf_counter
    for event in events:
        o = outcome_of(event)
        lid = learner_key(event)
        state = r.states.get(lid) or LearnerState.new(lid)
        if o is not None and score_from is not None and event.occurred_at < score_from:
            for b in baselines:
                b.observe(lid, o)
        elif o is not None:
            if on_outcome is not None:
                on_outcome(event, state)
            z = fixed_logit(state.ability, o.item_id, o.skills, params.ability, o.declared)
            r.p[MODEL].append(sigmoid(z + state.ability.theta))
            r.p[MODEL_NO_THETA].append(sigmoid(z))
            for b in baselines:
                r.p[b.name].append(b.predict(lid, o))
                b.observe(lid, o)
            r.learner.append(ids.setdefault(lid, len(ids)))
            r.prior.append(state.ability.outcomes)
            r.y.append(o.value)
        t0 = clock()
        r.states[lid] = fold(state, event, params)
        r.fold_seconds += clock() - t0
        r.folds += 1
    return r


def report(r: Replay, *, resamples: int = 200) -> dict[str, Any]:
    """Scores per predictor, by prior-attempt bin, and bootstrap CIs of model vs each."""
    y = np.asarray(r.y)
    learner = np.asarray(r.learner)
    prior = np.asarray(r.prior)
    preds = {k: np.asarray(v) for k, v in r.p.items()}
    overall = {k: scores(y, p).as_dict() for k, p in preds.items()}
    by_bin: dict[str, dict[str, Any]] = {}
    for lo, hi in ATTEMPT_BINS:
        mask = (prior >= lo) & (prior <= hi)
        label = f"{lo}" if lo == hi else (f"{lo}+" if hi >= 10**9 else f"{lo}-{hi}")
        if mask.sum() > 0:
            by_bin[label] = {k: scores(y[mask], p[mask]).as_dict() for k, p in preds.items()}
    versus: dict[str, Any] = {}
    for name, p in preds.items():
        if name == MODEL:
            continue
        ll, auc = bootstrap_by_learner(learner, y, preds[MODEL], p, resamples=resamples)
        versus[name] = {"log_loss_gain": ll.as_dict(),
                        "auc_gain": auc.as_dict() if auc else None}
    return {
        "rows": len(y),
        "learners": len(set(r.learner)),
        "overall": overall,
        "by_prior_attempts": by_bin,
        "model_vs": versus,
        "fold_us_per_event": 1e6 * r.fold_seconds / max(r.folds, 1),
    }


def tune(train: Sequence[Labelled], grid_c: Sequence[float], grid_var: Sequence[float],
         base: FitConfig, progress: Callable[[str], None] = lambda _: None) -> FitConfig:
    """Choose C and the learner-residual prior variance on a learner-disjoint validation
    split of the training data (last 20 % of learners by first appearance)."""
    order: dict[str, int] = {}
    for lid, _ in train:
        order.setdefault(lid, len(order))
    cut = int(len(order) * 0.8)
    fit_part = [(lid, o) for lid, o in train if order[lid] < cut]
    val_part = [(lid, o) for lid, o in train if order[lid] >= cut]
    best: tuple[float, FitConfig] | None = None
    for c in grid_c:
        params = fit_params(fit_part, replace(base, c=c))
        for var in grid_var:
            cfg = replace(base, c=c, theta_prior_var=var)
            p2 = replace(params, ability=replace(params.ability, theta_prior_var=var))
            ll = _replay_log_loss(val_part, p2)
            progress(f"C={c} theta_var={var}: validation log-loss {ll:.4f}")
            if best is None or ll < best[0]:
                best = (ll, cfg)
    assert best is not None
    return best[1]


def _replay_log_loss(rows: Sequence[Labelled], params: ModelParams) -> float:
    from learner_model.model.ability import AbilityState, predict, update

    states: dict[str, AbilityState] = {}
    y, p = [], []
    for lid, o in rows:
        s = states.get(lid) or AbilityState()
        p.append(predict(s, o.item_id, o.skills, params.ability, o.declared))
        y.append(o.value)
        states[lid] = update(s, o, params.ability)
    from learner_model.evaluation.metrics import log_losses

    return float(log_losses(np.asarray(y), np.asarray(p)).mean())


def evaluate_streams(train_events: Iterable[Envelope], test_events: Sequence[Envelope],
                     config: FitConfig, *, resamples: int = 200) -> dict[str, Any]:
    train = labelled(train_events)
    t0 = time.perf_counter()
    params = fit_params(train, config)
    fit_seconds = time.perf_counter() - t0
    baselines = standard_baselines()
    for b in baselines:
        b.fit(train)
    r = replay(test_events, params, baselines)
    out = report(r, resamples=resamples)
    out["fit_seconds"] = fit_seconds
    out["model_version"] = params.version
    out["config"] = {"c": config.c, "theta_prior_var": config.theta_prior_var,
                     "window": config.window, "skill_window": config.skill_window}
    return out
