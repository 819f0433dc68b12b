"""The model-quality benchmark behind ``learnstream model evaluate`` and
``python -m bench.model_quality``: real KT datasets and a simulated run, model vs baselines."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from learner_model.evaluation.kt import kt_events, read_kt_file
from learner_model.evaluation.protocol import MODEL, MODEL_NO_THETA, evaluate_streams, tune
from learner_model.model.fit import FitConfig, labelled

#: Gervet et al. 2020 (JEDM), test AUCs, as quoted in shared/datasets/kt/README.md.
PUBLISHED_AUC: dict[str, dict[str, float]] = {
    "assistments09": {"IRT": 0.69, "PFA": 0.72, "Best-LR": 0.77, "DKT": 0.75, "SAKT": 0.75},
    "statics": {"IRT": 0.79, "PFA": 0.69, "Best-LR": 0.82, "DKT": 0.83, "SAKT": 0.81},
}
GRID_C = (0.3, 1.0)
GRID_THETA_VAR = (0.0, 0.05, 0.2)

Progress = Callable[[str], None]


def evaluate_kt(name: str, train_path: Path, test_path: Path, *, tune_grid: bool = True,
                limit_learners: int | None = None, resamples: int = 200,
                progress: Progress = lambda _: None) -> dict[str, Any]:
    """Fit on ``train_path``, replay ``test_path`` as live events, score everything."""
    train_events = list(kt_events(read_kt_file(train_path, limit_learners), f"{name}-train"))
    test_events = list(kt_events(read_kt_file(test_path, limit_learners), f"{name}-test"))
    config = FitConfig(max_iter=1000)
    if tune_grid:
        config = tune(labelled(train_events), GRID_C, GRID_THETA_VAR, config, progress)
        progress(f"{name}: chose C={config.c} theta_prior_var={config.theta_prior_var}")
    result = evaluate_streams(train_events, test_events, config, resamples=resamples)
    result["dataset"] = name
    result["published_auc"] = PUBLISHED_AUC.get(name, {})
    return result


def evaluate_simulated(learners: int, days: int, seed: int, *, resamples: int = 200,
                       progress: Progress = lambda _: None) -> dict[str, Any]:
    from learner_model.evaluation.simulated import evaluate_simulation
    from simulator import Simulation, SimulationConfig

    sim = Simulation(SimulationConfig(learners=learners, days=days, seed=seed,
                                      start=datetime(2025, 1, 1, tzinfo=UTC)))
    events = list(sim.events())
    progress(f"simulated {len(events)} events")
    config = replace(FitConfig(max_iter=1000), theta_prior_var=0.2)
    result = evaluate_simulation(events, sim.truth(), config, resamples=resamples)
    result["dataset"] = f"simulated (learners={learners}, days={days}, seed={seed})"
    return result


def markdown(results: list[dict[str, Any]]) -> str:
    """The evaluation tables for the README, "Learner model"."""
    lines = []
    for res in results:
        lines.append(f"### {res['dataset']}\n")
        lines.append(f"{res['rows']:,} predicted answers from {res['learners']:,} learners; "
                     f"model {res['model_version']}, config {res.get('config', '')}; "
                     f"one online update (fold) {res['fold_us_per_event']:.1f} µs/event.\n")
        lines.append("| predictor | log-loss | AUC | Brier | ECE | log-loss gain of model "
                     "(95% CI, by learner) | AUC gain (95% CI) |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- |")
        for name, s in res["overall"].items():
            vs = res["model_vs"].get(name)
            ll = auc = ""
            if vs:
                g = vs["log_loss_gain"]
                ll = f"{g['mean']:+.4f} [{g['low']:+.4f}, {g['high']:+.4f}]"
                a = vs["auc_gain"]
                auc = f"{a['mean']:+.4f} [{a['low']:+.4f}, {a['high']:+.4f}]" if a else ""
            bold = "**" if name == MODEL else ""
            lines.append(f"| {bold}{name}{bold} | {s['log_loss']:.4f} | {s['auc']:.4f} | "
                         f"{s['brier']:.4f} | {s['ece']:.4f} | {ll} | {auc} |")
        if res.get("published_auc"):
            pub = ", ".join(f"{k} {v:.2f}" for k, v in res["published_auc"].items())
            lines.append(f"\nPublished test AUCs (Gervet et al. 2020): {pub}.\n")
        lines.append("\nBy number of earlier answers of the learner (model / no-theta / elo, "
                     "log-loss; AUC):\n")
        lines.append("| earlier answers | rows | model LL | model AUC | no-theta LL | elo LL | "
                     "irt-1pl LL | pfa LL |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for b, per in res["by_prior_attempts"].items():
            m = per[MODEL]
            lines.append(f"| {b} | {m['n']:,} | {m['log_loss']:.4f} | {m['auc']:.4f} | "
                         f"{per[MODEL_NO_THETA]['log_loss']:.4f} | {per['elo']['log_loss']:.4f}"
                         f" | {per['irt-1pl']['log_loss']:.4f} | {per['pfa']['log_loss']:.4f} |")
        if "ability_vs_truth" in res:
            a, i, p = (res["ability_vs_truth"], res["item_difficulty_vs_truth"],
                       res["preferences_vs_truth"])
            lines.append(f"\nAgainst the hidden truth: ability Pearson {a['pearson']:.3f} "
                         f"(Spearman {a['spearman']:.3f}, {a['learners']} learners with >= 5 "
                         f"answers); assessment difficulty Pearson {i['pearson']:.3f} "
                         f"({i['items']} assessments); preferences mean within-learner Pearson "
                         f"{p['mean_within_learner_pearson']:.3f} ({p['learners']} learners "
                         f"with >= 10 signals).\n")
            lines.append("New-learner curve (Pearson of the estimate with the true ability "
                         "after n graded answers):\n")
            lines.append("| n | " + " | ".join(res["new_learner_curve"]) + " |")
            lines.append("| --- |" + " --- |" * len(res["new_learner_curve"]))
            lines.append("| r | " + " | ".join(
                f"{v['pearson']:.2f}" for v in res["new_learner_curve"].values()) + " |")
            lines.append(f"\nUseful (r >= 0.5) after {res['answers_until_useful']} answer(s).\n")
        lines.append("")
    return "\n".join(lines)


def write_results(results: list[dict[str, Any]], out_dir: Path, stem: str) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / f"{stem}.json"
    md = out_dir / f"{stem}.md"
    js.write_text(json.dumps(results, indent=2, default=str))
    md.write_text(markdown(results))
    return js, md


def run_benchmark(kt_root: Path, out_dir: Path, *, quick: bool, console: Console) -> Path:
    """The full benchmark: Statics 2011 and ASSISTments 2009 from ``kt_root``, then a
    simulated run; results written to ``out_dir`` (a quick run never overwrites the full
    run's results). Returns the JSON file."""
    out = "model_quality_quick" if quick else "model_quality"
    results = []
    t0 = time.perf_counter()
    for name in ("statics", "assistments09"):
        folder = kt_root / name
        with console.status(f"{name}: tuning, fitting and replaying"):
            res = evaluate_kt(name, folder / "train.tsv", folder / "test.tsv",
                              tune_grid=not quick, limit_learners=100 if quick else None,
                              progress=console.log)
        results.append(res)
        write_results(results, out_dir, out)  # keep what is done if a later step fails
        m = res["overall"]["learner-model"]
        console.log(f"{name}: AUC {m['auc']:.4f} log-loss {m['log_loss']:.4f} ECE {m['ece']:.4f}")
    with console.status("simulated run"):
        results.append(evaluate_simulated(100 if quick else 400, 20 if quick else 40, 11,
                                          progress=console.log))
    js, md = write_results(results, out_dir, out)
    console.print(f"wrote {js} and {md} in {time.perf_counter() - t0:.0f} s")
    return js
