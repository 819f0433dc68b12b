"""Benchmark on simulated data, scored against the simulator's hidden ground truth.

Time-based split: parameters are fitted on events that occurred before 70 % of the run;
every event is replayed through the live fold; answers from the last 30 % are predicted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from learner_model.evaluation.baselines import standard_baselines
from learner_model.evaluation.protocol import replay, report
from learner_model.model.ability import ability_logit, declared_features
from learner_model.model.fit import FitConfig, fit_model, labelled
from learner_model.model.observations import learner_key
from learner_model.model.state import LearnerState, view
from learnstream.contracts import Envelope

#: Snapshots of a learner's estimate after this many graded answers (new-learner curve).
CURVE_POINTS: tuple[int, ...] = (0, 1, 2, 3, 5, 8, 12, 20, 30)
#: An estimate is called "useful" once its correlation with the truth reaches this.
USEFUL_CORRELATION = 0.5


def dedupe(events: Sequence[Envelope]) -> list[Envelope]:
    """Delivered order without redeliveries: what the log holds."""
    seen: set[object] = set()
    out = []
    for e in events:
        if e.event_id not in seen:
            seen.add(e.event_id)
            out.append(e)
    return out


def _corr(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _spearman(a: Sequence[float], b: Sequence[float]) -> float:
    ra = np.argsort(np.argsort(a))
    rb = np.argsort(np.argsort(b))
    return _corr(ra.tolist(), rb.tolist())


def evaluate_simulation(events: Sequence[Envelope], truth: Any, config: FitConfig, *,
                        split: float = 0.7, resamples: int = 200) -> dict[str, Any]:
    """Scores, baselines and correlations with the truth for one simulated run."""
    events = dedupe(events)
    start: datetime = truth.config.start
    cut = start + (truth.config.end - start) * split
    train = [e for e in events if e.occurred_at < cut]
    params = fit_model(train, config)
    baselines = standard_baselines()
    for b in baselines:
        b.fit(labelled(train))

    day_seconds = 86_400.0
    curve: dict[int, list[tuple[float, float]]] = defaultdict(list)

    def snapshot(event: Envelope, state: LearnerState) -> None:
        n = state.ability.outcomes
        if n in CURVE_POINTS:
            try:
                lt = truth.learner(learner_key(event))
            except KeyError:
                return
            day = int((event.occurred_at - start).total_seconds() // day_seconds)
            true = lt.ability_by_day[max(0, min(day, len(lt.ability_by_day) - 1))]
            curve[n].append((ability_logit(state.ability, params.ability), true))

    r = replay(events, params, baselines, score_from=cut)
    out = report(r, resamples=resamples)
    # The curve over all answers (train period included): new learners arrive throughout.
    replay(events, params, (), on_outcome=snapshot)

    est, true_ab = [], []
    pref_corrs = []
    for key, state in r.states.items():
        try:
            lt = truth.learner(key)
        except KeyError:
            continue
        if state.ability.outcomes >= 5:
            est.append(ability_logit(state.ability, params.ability))
            true_ab.append(lt.ability_end)
        if state.preferences.signals >= 10:
            w = view(state, params).preference_weights
            pairs = [(w[f"{kind}:{k}"], v)
                     for kind, table in (("format", lt.preferences.format),
                                         ("genre", lt.preferences.genre),
                                         ("topic", lt.preferences.topic))
                     for k, v in table.items() if f"{kind}:{k}" in w]
            if len(pairs) >= 3:
                pref_corrs.append(_corr([a for a, _ in pairs], [b for _, b in pairs]))
    item_est, item_true = [], []
    by_assessment: dict[str, list[float]] = defaultdict(list)
    declared: dict[str, list[float]] = defaultdict(list)
    for it in truth.items.values():
        by_assessment[it.assessment_id].append(it.difficulty)
        declared[it.assessment_id].append(it.declared_difficulty)
    # An assessment's estimated difficulty is its own item term plus what the declared
    # difficulty (the prior) contributes; the simulator declares the mean of its items'.
    w_declared = params.ability.dense.get("declared_logit", 0.0)
    for aid, diffs in by_assessment.items():
        if aid in params.ability.item:
            prior, _missing = declared_features(float(np.mean(declared[aid])))
            item_est.append(-(params.ability.item[aid] + w_declared * prior))
            item_true.append(float(np.mean(diffs)))
    curve_out = {str(n): {"learners": len(v), "pearson": _corr([a for a, _ in v],
                                                               [b for _, b in v])}
                 for n, v in sorted(curve.items())}
    useful = next((n for n, v in sorted(curve.items())
                   if len(v) >= 10 and _corr([a for a, _ in v], [b for _, b in v])
                   >= USEFUL_CORRELATION), None)
    pc = [c for c in pref_corrs if np.isfinite(c)]
    out.update({
        "model_version": params.version,
        "train_events": len(train),
        "events": len(events),
        "ability_vs_truth": {"learners": len(est), "pearson": _corr(est, true_ab),
                             "spearman": _spearman(est, true_ab)},
        "item_difficulty_vs_truth": {"items": len(item_est),
                                     "pearson": _corr(item_est, item_true)},
        "preferences_vs_truth": {"learners": len(pc),
                                 "mean_within_learner_pearson": float(np.mean(pc)) if pc
                                 else float("nan")},
        "new_learner_curve": curve_out,
        "answers_until_useful": useful,
    })
    return out
