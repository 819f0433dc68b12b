"""Model quality benchmark: learner model vs baselines on ASSISTments 2009, Statics 2011 and
a simulated run; writes bench/results/model_quality.{json,md}.

    python -m bench.model_quality            # the full benchmark (about 7-10 minutes)
    python -m bench.model_quality --quick    # small slices, no tuning; own results file
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from learner_model.evaluation.benchmark import run_benchmark
from learnstream.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="100-learner slices and no hyper-parameter search")
    args = parser.parse_args()
    kt_root = Settings().learner_model.datasets_dir / "kt"
    run_benchmark(kt_root, RESULTS, quick=args.quick, console=Console())


if __name__ == "__main__":
    main()
