"""Ablation: do behavioural aggregates (``--feature behaviour``, the default) or the declared
item difficulty (``--feature declared``) improve answer prediction on simulated data?

Same simulated run as the model-quality benchmark (400 learners, 40 days, seed 11; ``--quick``
100 x 20), same time split (fit on answers before 70 % of the run, score the rest). The
batch ability features (``learner_model.model.features``, i.e. the live model without theta) are
fitted twice on the same training rows: without and with the learner's behaviour before each
answer (``learner_model.evaluation.behaviour``). The difference of test log-loss gets a
95 % bootstrap interval over learners. Writes bench/results/model_ablation.{json,md}.

With ``--feature declared`` the two models differ only by the declared-difficulty features
(``declared_logit``, ``declared_missing``), and the gain is also reported for test answers on
items with few training answers, where a prior should matter most. Writes
bench/results/model_ablation_declared.{json,md}.

    python -m bench.model_ablation [--quick] [--seeds 11,12,13] [--feature declared]
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from rich.console import Console
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from learner_model.evaluation.behaviour import BEHAVIOUR_FEATURES, behaviour_rows
from learner_model.evaluation.metrics import bootstrap_by_learner, scores
from learner_model.evaluation.simulated import dedupe
from learner_model.model.ability import DENSE_FEATURES
from learner_model.model.features import Vocabulary, design_matrix, feature_frame, outcomes_frame

RESULTS = Path(__file__).resolve().parent / "results"
SPLIT = 0.7
C = 1.0


def _fit_predict(x: sparse.csr_matrix, value: NDArray[np.float64], train: NDArray[np.bool_],
                 ) -> NDArray[np.float64]:
    """Fit L2 logistic regression on the training rows (fractional outcomes as two weighted
    rows, as ``learner_model.model.fit`` does) and predict every row."""
    xt, vt = x[train], value[train]
    xs = sparse.vstack([xt, xt]).tocsr()
    y = np.concatenate([np.ones(len(vt), int), np.zeros(len(vt), int)])
    w = np.concatenate([vt, 1.0 - vt])
    keep = w > 0
    model = LogisticRegression(C=C, max_iter=1000, solver="lbfgs")
    model.fit(xs[keep], y[keep], sample_weight=w[keep])
    return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)


def run(learners: int, days: int, seed: int, resamples: int = 500) -> dict[str, Any]:
    from simulator import Simulation, SimulationConfig

    config = SimulationConfig(learners=learners, days=days, seed=seed,
                              start=datetime(2025, 1, 1, tzinfo=UTC))
    events = dedupe(list(Simulation(config).events()))
    cut = config.start + (config.end - config.start) * SPLIT
    rows = behaviour_rows(events)
    frame = outcomes_frame((r.learner, i, r.outcome.item_id, r.outcome.skills, r.outcome.value)
                           for i, r in enumerate(rows))
    feats, per_skill = feature_frame(frame)  # history features: earlier answers only
    train = np.array([r.event.occurred_at < cut for r in rows])
    train_rows = feats.filter(pl.Series(train))
    vocab = Vocabulary.of(train_rows, per_skill.filter(
        pl.col("row").is_in(train_rows["row"].to_list())))
    base = design_matrix(feats, per_skill, vocab)
    behaviour = np.array([[r.behaviour[f] for f in BEHAVIOUR_FEATURES] for r in rows])
    with_b = sparse.hstack([base, sparse.csr_matrix(behaviour)]).tocsr()
    value = feats["value"].to_numpy()
    p_without = _fit_predict(base, value, train)
    p_with = _fit_predict(with_b, value, train)

    test = ~train
    ids: dict[str, int] = {}
    learner = np.array([ids.setdefault(r.learner, len(ids)) for r in rows], dtype=np.int64)
    y = value[test]
    ll, auc = bootstrap_by_learner(learner[test], y, p_with[test], p_without[test],
                                   resamples=resamples)
    # Refit with-behaviour on everything to report the coefficients' signs.
    coef_model = LogisticRegression(C=C, max_iter=1000)
    yb = (value >= 0.5).astype(int)
    coef_model.fit(with_b, yb)
    coefs = dict(zip(BEHAVIOUR_FEATURES, coef_model.coef_[0][-len(BEHAVIOUR_FEATURES):]
                     .tolist(), strict=True))
    return {
        "dataset": f"simulated (learners={learners}, days={days}, seed={seed})",
        "split": SPLIT,
        "c": C,
        "train_rows": int(train.sum()),
        "test_rows": int(test.sum()),
        "test_learners": len(set(learner[test].tolist())),
        "without_behaviour": scores(y, p_without[test]).as_dict(),
        "with_behaviour": scores(y, p_with[test]).as_dict(),
        "log_loss_gain_with_behaviour": ll.as_dict(),
        "auc_gain_with_behaviour": auc.as_dict() if auc else None,
        "behaviour_coefficients_all_rows_binarised": coefs,
        "behaviour_feature_means": dict(zip(BEHAVIOUR_FEATURES,
                                            behaviour.mean(axis=0).tolist(), strict=True)),
    }


#: Test answers are grouped by how many training answers their item had.
FEW_ANSWER_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("0 (unseen item)", 0, 0), ("1-9", 1, 9), ("10-49", 10, 49), (">= 50", 50, 10**9))
DECLARED_COLUMNS = ("declared_logit", "declared_missing")


def run_declared(learners: int, days: int, seed: int, resamples: int = 500) -> dict[str, Any]:
    """Same split and fit, with vs without the declared-difficulty dense features."""
    from learner_model.model.observations import learner_key, outcome_of
    from simulator import Simulation, SimulationConfig

    config = SimulationConfig(learners=learners, days=days, seed=seed,
                              start=datetime(2025, 1, 1, tzinfo=UTC))
    events = dedupe(list(Simulation(config).events()))
    cut = config.start + (config.end - config.start) * SPLIT
    graded = [(e, learner_key(e), o) for e in events if (o := outcome_of(e)) is not None]
    frame = outcomes_frame((lid, i, o.item_id, o.skills, o.value, o.declared)
                           for i, (_, lid, o) in enumerate(graded))
    feats, per_skill = feature_frame(frame)
    train = np.array([e.occurred_at < cut for e, _, _ in graded])
    train_rows = feats.filter(pl.Series(train))
    vocab = Vocabulary.of(train_rows, per_skill.filter(
        pl.col("row").is_in(train_rows["row"].to_list())))
    with_d = design_matrix(feats, per_skill, vocab)
    drop = {vocab.width - len(DENSE_FEATURES) + DENSE_FEATURES.index(c) for c in DECLARED_COLUMNS}
    without_d = with_d[:, [j for j in range(vocab.width) if j not in drop]].tocsr()
    value = feats["value"].to_numpy()
    p_without = _fit_predict(without_d, value, train)
    p_with = _fit_predict(with_d, value, train)

    test = ~train
    ids: dict[str, int] = {}
    learner = np.array([ids.setdefault(lid, len(ids)) for _, lid, _ in graded], dtype=np.int64)
    items = feats["item"].to_list()
    train_count: dict[str, int] = {}
    for item, t in zip(items, train, strict=True):
        if t:
            train_count[item] = train_count.get(item, 0) + 1
    n_train = np.array([train_count.get(i, 0) for i in items])
    buckets = []
    for label, lo, hi in FEW_ANSWER_BUCKETS:
        sel = test & (n_train >= lo) & (n_train <= hi)
        if sel.sum() < 20 or len(set(learner[sel].tolist())) < 5:
            buckets.append({"item_training_answers": label, "test_rows": int(sel.sum())})
            continue
        g, _ = bootstrap_by_learner(learner[sel], value[sel], p_with[sel], p_without[sel],
                                    resamples=resamples, auc=False)
        buckets.append({"item_training_answers": label, "test_rows": int(sel.sum()),
                        "without": scores(value[sel], p_without[sel]).as_dict(),
                        "with": scores(value[sel], p_with[sel]).as_dict(),
                        "log_loss_gain": g.as_dict()})
    y = value[test]
    ll, auc = bootstrap_by_learner(learner[test], y, p_with[test], p_without[test],
                                   resamples=resamples)
    declared = feats["declared_missing"].to_numpy() == 0.0
    return {
        "dataset": f"simulated (learners={learners}, days={days}, seed={seed})",
        "feature": "declared",
        "split": SPLIT,
        "c": C,
        "train_rows": int(train.sum()),
        "test_rows": int(test.sum()),
        "test_learners": len(set(learner[test].tolist())),
        "rows_with_declared": int(declared.sum()),
        "without_declared": scores(y, p_without[test]).as_dict(),
        "with_declared": scores(y, p_with[test]).as_dict(),
        "log_loss_gain_with_declared": ll.as_dict(),
        "auc_gain_with_declared": auc.as_dict() if auc else None,
        "by_item_training_answers": buckets,
    }


def markdown_declared(results: list[dict[str, Any]]) -> str:
    lines = ["# Ablation: declared item difficulty as an ability feature (simulated data)", "",
             "Batch ability features (the live model without theta), fitted on answers before "
             f"{SPLIT:.0%} of the run, scored on the rest; with vs without the declared "
             "difficulty of the assessment (logit, centred at 0.5, and a missing flag). "
             "Gain = log-loss without - log-loss with (positive favours the declared "
             "difficulty); 95 % learner-bootstrap interval.", "",
             "| run | test rows | LL without | LL with | LL gain [95 % CI] | AUC gain [95 % CI] |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        g, a = r["log_loss_gain_with_declared"], r["auc_gain_with_declared"]
        lines.append(
            f"| {r['dataset']} | {r['test_rows']:,} | {r['without_declared']['log_loss']:.4f} | "
            f"{r['with_declared']['log_loss']:.4f} | {g['mean']:+.4f} [{g['low']:+.4f}, "
            f"{g['high']:+.4f}] | {a['mean']:+.4f} [{a['low']:+.4f}, {a['high']:+.4f}] |")
    lines += ["", "By the number of training answers on the test answer's item:", "",
              "| run | item's training answers | test rows | LL without | LL with | "
              "LL gain [95 % CI] |", "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        for b in r["by_item_training_answers"]:
            if "log_loss_gain" not in b:
                lines.append(f"| {r['dataset']} | {b['item_training_answers']} | "
                             f"{b['test_rows']:,} | - | - | too few rows |")
                continue
            g = b["log_loss_gain"]
            lines.append(
                f"| {r['dataset']} | {b['item_training_answers']} | {b['test_rows']:,} | "
                f"{b['without']['log_loss']:.4f} | {b['with']['log_loss']:.4f} | "
                f"{g['mean']:+.4f} [{g['low']:+.4f}, {g['high']:+.4f}] |")
    favour = sum(r["log_loss_gain_with_declared"]["low"] > 0 for r in results)
    lines += ["", f"Overall log-loss intervals excluding zero in favour of the declared "
              f"difficulty: {favour} of {len(results)}.", ""]
    return "\n".join(lines)


def markdown(results: list[dict[str, Any]]) -> str:
    lines = ["# Ablation: behavioural aggregates as ability features (simulated data)", "",
             "Batch ability features (the live model without theta), fitted on answers before "
             f"{SPLIT:.0%} of the run, scored on the rest; with vs without the learner's "
             "behaviour before each answer (log counts of completions, skips, replays, "
             "seek-backs; mean listened share). Gain = log-loss without - log-loss with "
             "(positive favours behaviour); 95 % learner-bootstrap interval.", "",
             "| run | test rows | LL without | LL with | LL gain [95 % CI] | AUC without | "
             "AUC with | AUC gain [95 % CI] |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        g, a = r["log_loss_gain_with_behaviour"], r["auc_gain_with_behaviour"]
        lines.append(
            f"| {r['dataset']} | {r['test_rows']:,} | {r['without_behaviour']['log_loss']:.4f} | "
            f"{r['with_behaviour']['log_loss']:.4f} | {g['mean']:+.4f} [{g['low']:+.4f}, "
            f"{g['high']:+.4f}] | {r['without_behaviour']['auc']:.4f} | "
            f"{r['with_behaviour']['auc']:.4f} | {a['mean']:+.4f} [{a['low']:+.4f}, "
            f"{a['high']:+.4f}] |")
    keep = all(r["log_loss_gain_with_behaviour"]["low"] > 0 for r in results)
    lines += ["", f"Decision rule (keep only if every interval excludes zero in their favour): "
              f"**{'keep' if keep else 'keep out'}**.", ""]
    return "\n".join(lines)


def main() -> None:
    quick = "--quick" in sys.argv
    seeds = [11]
    if "--seeds" in sys.argv:
        seeds = [int(s) for s in sys.argv[sys.argv.index("--seeds") + 1].split(",")]
    feature = "behaviour"
    if "--feature" in sys.argv:
        feature = sys.argv[sys.argv.index("--feature") + 1]
    if feature not in ("behaviour", "declared"):
        raise SystemExit(f"--feature must be behaviour or declared, not {feature!r}")
    learners, days = (100, 20) if quick else (400, 40)
    console = Console()
    t0 = time.perf_counter()
    results = []
    for seed in seeds:
        with console.status(f"seed {seed}: simulating, fitting with and without {feature}"):
            res = (run_declared if feature == "declared" else run)(learners, days, seed)
        g = res[f"log_loss_gain_with_{feature}"]
        console.log(f"seed {seed}: log-loss gain {g['mean']:+.4f} "
                    f"[{g['low']:+.4f}, {g['high']:+.4f}]")
        results.append(res)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "model_ablation" + ("_declared" if feature == "declared" else "") + (
        "_quick" if quick else "")
    (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=2))
    (RESULTS / f"{stem}.md").write_text(
        markdown_declared(results) if feature == "declared" else markdown(results))
    console.print(f"wrote bench/results/{stem}.{{json,md}} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
