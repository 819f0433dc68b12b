"""Ability: an online logistic model over Best-LR-style features plus a learner residual.

The probability that a learner answers an item correctly is::

    logit p = b0 + item[i] + sum over the item's skills s of
                  ( skill[s] + a[s] * log(1 + correct_s) + f[s] * log(1 + wrong_s) )
              + sum_k w_k * dense_k                (totals, same-item and recent-window counts)
              + theta                               (learner residual, Kalman-updated)

Item, skill and count coefficients are fitted in batch (``learner_model.model.fit``); the counts and
``theta`` are the learner's online state. ``theta`` carries the per-learner uncertainty: it is
the posterior mean of a Gaussian (Laplace) approximation, updated after each answer by one
Newton step, with a small drift variance so that old evidence slowly loses weight.

``update`` is a pure function ``(state, outcome, params) -> state``; the fold never mutates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from learner_model.model.observations import Outcome

#: Names of the dense (shared-coefficient) features, in design-matrix order.
DENSE_FEATURES: tuple[str, ...] = (
    "total_correct_log",
    "total_wrong_log",
    "item_correct_log",
    "item_wrong_log",
    "recent_correct",
    "recent_wrong",
    "skill_recent_correct",
    "skill_recent_wrong",
    "declared_logit",
    "declared_missing",
)

#: Declared difficulties are clipped before the logit so 0 and 1 stay finite.
DECLARED_CLIP = 0.01


def declared_features(declared: float | None) -> tuple[float, float]:
    """(logit of the declared difficulty, centred at 0.5; missing indicator). An item whose
    declaration is unknown gets (0, 1): its difficulty comes from its own item term alone."""
    if declared is None:
        return 0.0, 1.0
    d = min(max(declared, DECLARED_CLIP), 1.0 - DECLARED_CLIP)
    return math.log(d / (1.0 - d)), 0.0


@dataclass(frozen=True, slots=True)
class AbilityParams:
    """Fitted coefficients (one model version). Unknown items/skills fall back to defaults."""

    version: str
    intercept: float
    item: Mapping[str, float]
    skill: Mapping[str, float]
    skill_correct: Mapping[str, float]
    skill_wrong: Mapping[str, float]
    dense: Mapping[str, float]
    default_skill_correct: float = 0.0
    default_skill_wrong: float = 0.0
    window: int = 10
    skill_window: int = 5
    theta_prior_var: float = 0.3
    theta_drift_var: float = 0.0

    @classmethod
    def prior(cls) -> AbilityParams:
        """An unfitted model (all coefficients 0): every prediction is 0.5 plus theta."""
        return cls("prior", 0.0, {}, {}, {}, {}, dict.fromkeys(DENSE_FEATURES, 0.0))


@dataclass(frozen=True, slots=True)
class AbilityState:
    """A learner's practice history, summarised as the model needs it.

    ``skills`` maps a skill to (correct, wrong, last outcomes); ``items`` maps an item to
    (correct, wrong). Mappings are replaced, never mutated (copy-on-write keeps the fold pure).
    """

    total_correct: float = 0.0
    total_wrong: float = 0.0
    skills: Mapping[str, tuple[float, float, tuple[float, ...]]] = field(default_factory=dict)
    items: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    recent: tuple[float, ...] = ()
    theta: float = 0.0
    theta_var: float | None = None  # None: not yet observed, the prior variance applies
    outcomes: int = 0


_NO_SKILL: tuple[float, float, tuple[float, ...]] = (0.0, 0.0, ())


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def dense_features(state: AbilityState, item_id: str, skills: tuple[str, ...],
                   window: int, skill_window: int,
                   declared: float | None = None) -> dict[str, float]:
    """The dense features of answering ``item_id`` now (same definition as the batch builder)."""
    src = srn = 0.0
    for s in skills:
        last = state.skills.get(s, _NO_SKILL)[2]
        src += sum(last)
        srn += len(last)
    rc = sum(state.recent)
    ic, iw = state.items.get(item_id, (0.0, 0.0))
    dl, dm = declared_features(declared)
    return {
        "total_correct_log": math.log1p(state.total_correct),
        "total_wrong_log": math.log1p(state.total_wrong),
        "item_correct_log": math.log1p(ic),
        "item_wrong_log": math.log1p(iw),
        "recent_correct": rc / window,
        "recent_wrong": (len(state.recent) - rc) / window,
        "skill_recent_correct": src / skill_window,
        "skill_recent_wrong": (srn - src) / skill_window,
        "declared_logit": dl,
        "declared_missing": dm,
    }


def _skill_term(state: AbilityState, s: str, params: AbilityParams) -> float:
    c, w, _ = state.skills.get(s, _NO_SKILL)
    return (params.skill.get(s, 0.0)
            + params.skill_correct.get(s, params.default_skill_correct) * math.log1p(c)
            + params.skill_wrong.get(s, params.default_skill_wrong) * math.log1p(w))


def fixed_logit(state: AbilityState, item_id: str, skills: tuple[str, ...],
                params: AbilityParams, declared: float | None = None) -> float:
    """The batch-fitted part of the logit (everything except ``theta``). ``declared`` is the
    item's declared difficulty, if known."""
    z = params.intercept + params.item.get(item_id, 0.0)
    for s in skills:
        z += _skill_term(state, s, params)
    dense = dense_features(state, item_id, skills, params.window, params.skill_window, declared)
    for name, value in dense.items():
        z += params.dense.get(name, 0.0) * value
    return z


def predict(state: AbilityState, item_id: str, skills: tuple[str, ...],
            params: AbilityParams, declared: float | None = None) -> float:
    """P(correct) for this learner on this item, before seeing the answer."""
    return sigmoid(fixed_logit(state, item_id, skills, params, declared) + state.theta)


def update(state: AbilityState, outcome: Outcome, params: AbilityParams) -> AbilityState:
    """The state after observing ``outcome`` (pure)."""
    y = outcome.value
    item, skills = outcome.item_id, outcome.skills
    p = sigmoid(fixed_logit(state, item, skills, params, outcome.declared) + state.theta)
    # One Newton step of Bayesian logistic regression on the learner's intercept (Laplace):
    # the posterior precision grows by the Fisher information p(1-p) of this answer.
    var = params.theta_prior_var if state.theta_var is None else state.theta_var
    theta, new_var = state.theta, var
    if var > 0.0:
        new_var = 1.0 / (1.0 / var + p * (1.0 - p))
        theta = state.theta + new_var * (y - p)
        new_var += params.theta_drift_var

    new_skills = dict(state.skills)
    for s in skills:
        c, w, last = new_skills.get(s, _NO_SKILL)
        new_skills[s] = (c + y, w + (1.0 - y), (*last, y)[-params.skill_window:])
    new_items = dict(state.items)
    ic, iw = new_items.get(item, (0.0, 0.0))
    new_items[item] = (ic + y, iw + (1.0 - y))
    return replace(
        state,
        total_correct=state.total_correct + y,
        total_wrong=state.total_wrong + (1.0 - y),
        skills=new_skills,
        items=new_items,
        recent=(*state.recent, y)[-params.window:],
        theta=theta,
        theta_var=new_var,
        outcomes=state.outcomes + 1,
    )


def ability_logit(state: AbilityState, params: AbilityParams) -> float:
    """The learner's expected logit on a typical item (item offset 0) in the skills practised.

    This is what ``comprehension_level`` reports: the success probability on an average
    next item of a skill the learner has practised (a new skill if none), averaged over
    those skills. Recent-window features are taken as they stand.
    """
    skills = tuple(state.skills) or ("",)
    base = params.intercept + state.theta
    # A typical item is declared medium (0.5: logit 0, not missing).
    dense = dense_features(state, "", (), params.window, params.skill_window, 0.5)
    for name, value in dense.items():
        base += params.dense.get(name, 0.0) * value
    # A typical next item of skill s also carries that skill's recent-window features.
    rc, rw = params.dense.get("skill_recent_correct", 0.0), params.dense.get(
        "skill_recent_wrong", 0.0)
    total = 0.0
    for s in skills:
        last = state.skills.get(s, _NO_SKILL)[2]
        k = sum(last)
        total += (_skill_term(state, s, params) + rc * k / params.skill_window
                  + rw * (len(last) - k) / params.skill_window)
    return base + total / len(skills)


def theta_sd(state: AbilityState, params: AbilityParams) -> float:
    var = params.theta_prior_var if state.theta_var is None else state.theta_var
    return math.sqrt(max(var, 0.0))
