"""Model quality benchmark: learner model vs baselines on ASSISTments 2009, Statics 2011 and
a simulated run; writes bench/results/model_quality.{json,md}.

    python -m bench.model_quality            # the full benchmark (about 7-10 minutes)
    python -m bench.model_quality --quick    # small slices, no tuning; own results file
"""

from __future__ import annotations

import argparse
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="100-learner slices and no hyper-parameter search")
    parser.add_argument("--out", default="",
                        help="results name (default model_quality, or model_quality_quick)")
    args = parser.parse_args()
    quick = args.quick
    # A quick run never overwrites the full run's results.
    out = args.out or ("model_quality_quick" if quick else "model_quality")
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
        write_results(results, RESULTS, out)  # keep what is done if a later step fails
        m = res["overall"]["learner-model"]
        console.log(f"{name}: AUC {m['auc']:.4f} log-loss {m['log_loss']:.4f} ECE {m['ece']:.4f}")
    with console.status("simulated run"):
        results.append(evaluate_simulated(100 if quick else 400, 20 if quick else 40, 11,
                                          progress=console.log))
    js, md = write_results(results, RESULTS, out)
    console.print(f"wrote {js} and {md} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
