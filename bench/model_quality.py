"""Model quality benchmark: learner model vs baselines on ASSISTments 2009, Statics 2011 and
a simulated run; writes bench/results/model_quality.{json,md}.

    python -m bench.model_quality [--quick]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.console import Console

from learner_model.benchmark import (
    evaluate_kt,
    evaluate_simulated,
    write_results,
)
from learnstream.settings import Settings

KT_ROOT = Settings().datasets_dir / "kt"
RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    quick = "--quick" in sys.argv
    console = Console()
    results = []
    t0 = time.perf_counter()
    for name in ("statics", "assistments09"):
        folder = KT_ROOT / name
        with console.status(f"{name}: tuning, fitting and replaying"):
            res = evaluate_kt(name, folder / "train.tsv", folder / "test.tsv",
                              tune_grid=not quick, limit_learners=100 if quick else None,
                              progress=console.log)
        results.append(res)
        write_results(results, RESULTS, "model_quality")  # keep what is done if a later step fails
        m = res["overall"]["learner-model"]
        console.log(f"{name}: AUC {m['auc']:.4f} log-loss {m['log_loss']:.4f} ECE {m['ece']:.4f}")
    with console.status("simulated run"):
        results.append(evaluate_simulated(100 if quick else 400, 20 if quick else 40, 11,
                                          progress=console.log))
    js, md = write_results(results, RESULTS, "model_quality")
    console.print(f"wrote {js} and {md} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
