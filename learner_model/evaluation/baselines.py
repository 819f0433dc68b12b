"""Baseline predictors for the benchmark, all online in the same harness as the model.

Each baseline is fitted on the training outcomes and then, on the test stream, predicts an
answer before observing it. They are deliberately plain, standard formulations:

* ``global``: the training success rate.
* ``learner-rate``: the learner's running success rate, shrunk to the global rate.
* ``content-rate``: the item's training success rate, shrunk to the global rate.
* ``elo``: learner-vs-item Elo with the uncertainty function K = 1 / (1 + 0.05 n)
  (Pelanek 2016); item ratings from the training pass, both sides updated online.
* ``irt-1pl``: item difficulties fitted by logistic regression on the training split; a new
  learner's ability is estimated online (Gaussian prior, Laplace updates).
* ``pfa``: performance factor analysis (skill easiness + per-skill success/failure counts).
* ``lr-counts``: logistic regression on log counts (total and per skill), no item identity.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from learner_model.model.ability import sigmoid
from learner_model.model.observations import Outcome

Labelled = tuple[str, Outcome]


class GlobalRate:
    name = "global"

    def __init__(self) -> None:
        self.rate = 0.5

    def fit(self, train: Sequence[Labelled]) -> None:
        self.rate = sum(o.value for _, o in train) / max(len(train), 1)

    def predict(self, learner: str, o: Outcome) -> float:
        return self.rate

    def observe(self, learner: str, o: Outcome) -> None:
        return None


class LearnerRate(GlobalRate):
    name = "learner-rate"
    prior = 2.0

    def __init__(self) -> None:
        super().__init__()
        self.sum: dict[str, float] = defaultdict(float)
        self.n: dict[str, int] = defaultdict(int)

    def predict(self, learner: str, o: Outcome) -> float:
        return (self.sum[learner] + self.prior * self.rate) / (self.n[learner] + self.prior)

    def observe(self, learner: str, o: Outcome) -> None:
        self.sum[learner] += o.value
        self.n[learner] += 1


class ContentRate(GlobalRate):
    name = "content-rate"
    prior = 2.0

    def __init__(self) -> None:
        super().__init__()
        self.item: dict[str, float] = {}

    def fit(self, train: Sequence[Labelled]) -> None:
        super().fit(train)
        s: dict[str, float] = defaultdict(float)
        n: dict[str, int] = defaultdict(int)
        for _, o in train:
            s[o.item_id] += o.value
            n[o.item_id] += 1
        self.item = {k: (s[k] + self.prior * self.rate) / (n[k] + self.prior) for k in s}

    def predict(self, learner: str, o: Outcome) -> float:
        return self.item.get(o.item_id, self.rate)


class Elo:
    name = "elo"

    def __init__(self, alpha: float = 1.0, beta: float = 0.05) -> None:
        self.alpha, self.beta = alpha, beta
        self.theta: dict[str, float] = defaultdict(float)
        self.n_learner: dict[str, int] = defaultdict(int)
        self.difficulty: dict[str, float] = defaultdict(float)
        self.n_item: dict[str, int] = defaultdict(int)

    def _k(self, n: int) -> float:
        return self.alpha / (1.0 + self.beta * n)

    def fit(self, train: Sequence[Labelled]) -> None:
        for learner, o in train:
            self.observe(learner, o)
        self.theta.clear()
        self.n_learner.clear()

    def predict(self, learner: str, o: Outcome) -> float:
        return sigmoid(self.theta[learner] - self.difficulty[o.item_id])

    def observe(self, learner: str, o: Outcome) -> None:
        err = o.value - self.predict(learner, o)
        self.theta[learner] += self._k(self.n_learner[learner]) * err
        self.difficulty[o.item_id] -= self._k(self.n_item[o.item_id]) * err
        self.n_learner[learner] += 1
        self.n_item[o.item_id] += 1


class Irt1PL:
    name = "irt-1pl"

    def __init__(self, c: float = 1.0) -> None:
        self.c = c
        self.easiness: dict[str, float] = {}
        self.intercept = 0.0
        self.prior_var = 1.0
        self.theta: dict[str, float] = defaultdict(float)
        self.var: dict[str, float] = {}

    def fit(self, train: Sequence[Labelled]) -> None:
        learners = {lid: i for i, lid in enumerate(sorted({lid for lid, _ in train}))}
        items = {it: i for i, it in enumerate(sorted({o.item_id for _, o in train}))}
        rows = np.arange(len(train))
        x = sparse.csr_matrix(
            (np.ones(2 * len(train)),
             (np.concatenate([rows, rows]),
              np.array([learners[lid] for lid, _ in train]
                       + [len(learners) + items[o.item_id] for _, o in train]))),
            shape=(len(train), len(learners) + len(items)))
        y = np.array([round(o.value) for _, o in train])
        model = LogisticRegression(C=self.c, max_iter=300).fit(x, y)
        coef = model.coef_[0]
        self.intercept = float(model.intercept_[0])
        self.prior_var = float(np.var(coef[: len(learners)]))
        self.easiness = dict(zip(items, coef[len(learners):].tolist(), strict=True))

    def predict(self, learner: str, o: Outcome) -> float:
        return sigmoid(self.intercept + self.theta[learner] + self.easiness.get(o.item_id, 0.0))

    def observe(self, learner: str, o: Outcome) -> None:
        p = self.predict(learner, o)
        var = 1.0 / (1.0 / self.var.get(learner, self.prior_var) + p * (1 - p))
        self.var[learner] = var
        self.theta[learner] += var * (o.value - p)


Features = Callable[[dict[str, float], Outcome], dict[str, float]]


class CountsLogistic:
    """Logistic regression over features computed from a learner's running counts."""

    def __init__(self, name: str, features: Features, c: float = 1.0) -> None:
        self.name = name
        self.features = features
        self.c = c
        self.coef: dict[str, float] = {}
        self.intercept = 0.0
        self.counts: dict[str, dict[str, float]] = defaultdict(dict)

    def fit(self, train: Sequence[Labelled]) -> None:
        counts: dict[str, dict[str, float]] = defaultdict(dict)
        cols: dict[str, int] = {}
        r, c, v = [], [], []
        for i, (learner, o) in enumerate(train):
            for k, val in self.features(counts[learner], o).items():
                r.append(i)
                c.append(cols.setdefault(k, len(cols)))
                v.append(val)
            _count(counts[learner], o)
        x = sparse.csr_matrix((v, (r, c)), shape=(len(train), len(cols)))
        y = np.array([round(o.value) for _, o in train])
        model = LogisticRegression(C=self.c, max_iter=500).fit(x, y)
        self.intercept = float(model.intercept_[0])
        self.coef = {k: float(model.coef_[0][j]) for k, j in cols.items()}

    def predict(self, learner: str, o: Outcome) -> float:
        z = self.intercept + sum(self.coef.get(k, 0.0) * v
                                 for k, v in self.features(self.counts[learner], o).items())
        return sigmoid(z)

    def observe(self, learner: str, o: Outcome) -> None:
        _count(self.counts[learner], o)


def _count(counts: dict[str, float], o: Outcome) -> None:
    counts["total_correct"] = counts.get("total_correct", 0.0) + o.value
    counts["total_wrong"] = counts.get("total_wrong", 0.0) + 1.0 - o.value
    for s in o.skills:
        counts[f"c:{s}"] = counts.get(f"c:{s}", 0.0) + o.value
        counts[f"w:{s}"] = counts.get(f"w:{s}", 0.0) + 1.0 - o.value


def pfa_features(counts: dict[str, float], o: Outcome) -> dict[str, float]:
    """PFA (Pavlik et al. 2009): per-skill easiness, success and failure counts."""
    out: dict[str, float] = {}
    for s in o.skills:
        out[f"skill:{s}"] = 1.0
        out[f"succ:{s}"] = counts.get(f"c:{s}", 0.0)
        out[f"fail:{s}"] = counts.get(f"w:{s}", 0.0)
    return out


def log_count_features(counts: dict[str, float], o: Outcome) -> dict[str, float]:
    """Log counts only (no item or skill identity)."""
    out = {"tc": math.log1p(counts.get("total_correct", 0.0)),
           "tw": math.log1p(counts.get("total_wrong", 0.0)), "sc": 0.0, "sw": 0.0}
    for s in o.skills:
        out["sc"] += math.log1p(counts.get(f"c:{s}", 0.0))
        out["sw"] += math.log1p(counts.get(f"w:{s}", 0.0))
    return out


def standard_baselines() -> list[GlobalRate | Elo | Irt1PL | CountsLogistic]:
    return [GlobalRate(), LearnerRate(), ContentRate(), Elo(), Irt1PL(),
            CountsLogistic("pfa", pfa_features), CountsLogistic("lr-counts", log_count_features)]
