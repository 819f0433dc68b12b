"""A Rasch (1PL) fit: P(success of learner l on item i) = sigmoid(theta_l - b_i).

Outcomes may be fractional (score / max_score), treated as a Bernoulli mean (the
quasi-likelihood is the same cross-entropy). Joint maximum a-posteriori with a standard
normal prior on both abilities and difficulties, which keeps learners and items with all
successes or all failures finite. Abilities can be fixed (from the learner model), and then
only difficulties are fitted. Pure numpy; the largest loop is over Newton iterations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class RaschFit:
    """Fitted abilities (per learner index) and difficulties (per item index), with
    standard errors from the diagonal of the observed information."""

    ability: FloatArray
    ability_se: FloatArray
    difficulty: FloatArray
    difficulty_se: FloatArray
    iterations: int


def fit_rasch(
    learner: IntArray,
    item: IntArray,
    outcome: FloatArray,
    *,
    n_learners: int,
    n_items: int,
    fixed_ability: FloatArray | None = None,
    prior_precision: float = 1.0,
    max_iter: int = 100,
    tol: float = 1e-6,
) -> RaschFit:
    """Fit the model to observations ``(learner[k], item[k], outcome[k])``."""
    theta = np.zeros(n_learners) if fixed_ability is None else fixed_ability.astype(np.float64)
    b = np.zeros(n_items)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported in the result
        p = sigmoid(theta[learner] - b[item])
        w = p * (1.0 - p)
        # Newton step on b with theta fixed (block-diagonal Hessian: one scalar per item).
        grad_b = np.bincount(item, p - outcome, n_items) - prior_precision * b
        info_b = np.bincount(item, w, n_items) + prior_precision
        step_b = grad_b / info_b
        b += step_b
        step = float(np.max(np.abs(step_b))) if n_items else 0.0
        if fixed_ability is None:
            p = sigmoid(theta[learner] - b[item])
            w = p * (1.0 - p)
            grad_t = np.bincount(learner, outcome - p, n_learners) - prior_precision * theta
            info_t = np.bincount(learner, w, n_learners) + prior_precision
            step_t = grad_t / info_t
            theta += step_t
            step = max(step, float(np.max(np.abs(step_t))) if n_learners else 0.0)
        if step < tol:
            break
    p = sigmoid(theta[learner] - b[item])
    w = p * (1.0 - p)
    info_b = np.bincount(item, w, n_items) + prior_precision
    info_t = np.bincount(learner, w, n_learners) + prior_precision
    return RaschFit(
        ability=theta,
        ability_se=1.0 / np.sqrt(info_t),
        difficulty=b,
        difficulty_se=1.0 / np.sqrt(info_b),
        iterations=iterations,
    )
