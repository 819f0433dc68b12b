"""Prediction metrics: log-loss, AUC, Brier, ECE, and a learner-level bootstrap."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

_EPS = 1e-6
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Scores:
    n: int
    log_loss: float
    auc: float
    brier: float
    ece: float

    def as_dict(self) -> dict[str, float]:
        return {"n": self.n, "log_loss": self.log_loss, "auc": self.auc, "brier": self.brier,
                "ece": self.ece}


def log_losses(y: FloatArray, p: FloatArray) -> FloatArray:
    """Per-row log-loss (fractional y allowed)."""
    q = np.clip(p, _EPS, 1 - _EPS)
    return -(y * np.log(q) + (1 - y) * np.log(1 - q))


def expected_calibration_error(y: FloatArray, p: FloatArray, bins: int = 10) -> float:
    """ECE with equal-width bins: sum over bins of share x |mean(y) - mean(p)|."""
    if len(y) == 0:
        return float("nan")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    count = np.bincount(idx, minlength=bins)
    sy = np.bincount(idx, weights=y, minlength=bins)
    sp = np.bincount(idx, weights=p, minlength=bins)
    nz = count > 0
    return float(np.sum(np.abs(sy[nz] - sp[nz])) / len(y))


def scores(y: FloatArray, p: FloatArray) -> Scores:
    yb = (y >= 0.5).astype(int)
    auc = float(roc_auc_score(yb, p)) if 0 < yb.sum() < len(yb) else float("nan")
    return Scores(len(y), float(log_losses(y, p).mean()), auc,
                  float(np.mean((p - y) ** 2)), expected_calibration_error(y, p))


@dataclass(frozen=True, slots=True)
class Interval:
    """Mean difference and a percentile bootstrap interval."""

    mean: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, float | bool]:
        return {"mean": self.mean, "low": self.low, "high": self.high,
                "excludes_zero": self.excludes_zero}


def bootstrap_by_learner(learner: NDArray[np.int64], y: FloatArray, p_model: FloatArray,
                         p_base: FloatArray, *, resamples: int = 200, seed: int = 0,
                         auc: bool = True) -> tuple[Interval, Interval | None]:
    """95% intervals of (baseline log-loss - model log-loss) and (model AUC - baseline AUC),
    resampling learners with replacement (answers of one learner are not independent)."""
    rng = np.random.default_rng(seed)
    ids, inv = np.unique(learner, return_inverse=True)
    n_l = len(ids)
    diff_row = log_losses(y, p_base) - log_losses(y, p_model)
    per_l_diff = np.bincount(inv, weights=diff_row, minlength=n_l)
    per_l_n = np.bincount(inv, minlength=n_l).astype(float)
    weights = rng.multinomial(n_l, np.full(n_l, 1.0 / n_l), size=resamples).astype(float)
    ll = (weights @ per_l_diff) / (weights @ per_l_n)
    ll_iv = Interval(float(diff_row.mean()), *map(float, np.percentile(ll, [2.5, 97.5])))
    if not auc:
        return ll_iv, None
    yb = (y >= 0.5).astype(int)
    point = float(roc_auc_score(yb, p_model) - roc_auc_score(yb, p_base))
    diffs = []
    for w in weights[: max(resamples // 2, 20)]:
        row_w = w[inv]
        keep = row_w > 0
        diffs.append(roc_auc_score(yb[keep], p_model[keep], sample_weight=row_w[keep])
                     - roc_auc_score(yb[keep], p_base[keep], sample_weight=row_w[keep]))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return ll_iv, Interval(point, float(lo), float(hi))
