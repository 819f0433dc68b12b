"""How long does `learnstream --help` take to start?

Measures, in one run, each in a fresh interpreter (median of --runs, after one warm-up run
each so the file cache is hot for all):

- `learnstream --help`, the console script (the root loads no stage);
- `learnstream simulate --help`, a verb: the root loads that verb's stage only;
- baseline 1: `python -c pass`, the interpreter's own start;
- baseline 2: importing every stage's command module and the running projections, what the
  root did up front before issue 14 item 19 (the eager start).

Ratios to the baselines are what to compare across machines.

    python -m bench.cli_startup [--runs 15]

Writes bench/results/cli_startup.json and bench/results/cli_startup.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
PYTHON = sys.executable
#: The console script of the interpreter's environment (the .venv's `learnstream`).
SCRIPT = str(Path(PYTHON).parent / "learnstream")
EAGER = ("import app.cli, app.projections, devstack.cli, ingest.cli, learner_model.cli, "
         "projections.cli, simulator.cli, warehouse.cli")

COMMANDS: dict[str, list[str]] = {
    "learnstream --help": [SCRIPT, "--help"],
    "learnstream simulate --help": [SCRIPT, "simulate", "--help"],
    "baseline: python -c pass": [PYTHON, "-c", "pass"],
    "baseline: eager import of every stage": [PYTHON, "-c", EAGER],
}


def seconds(command: list[str], runs: int) -> float:
    """Median wall seconds of ``command`` (stdout discarded), after one warm-up run."""
    times = []
    for attempt in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        if attempt:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    medians = {name: seconds(command, args.runs) for name, command in COMMANDS.items()}
    bare = medians["baseline: python -c pass"]
    eager = medians["baseline: eager import of every stage"]
    result: dict[str, object] = {
        "command": f"python -m bench.cli_startup --runs {args.runs}",
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "python": platform.python_version(),
        # 2 shared cores: other work running at the same time shows up here, not in ratios.
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "median_seconds": {name: round(value, 3) for name, value in medians.items()},
        "ratio_help_to_python_pass": round(medians["learnstream --help"] / bare, 2),
        "ratio_help_to_eager_import": round(medians["learnstream --help"] / eager, 3),
        "ratio_verb_help_to_eager_import": round(
            medians["learnstream simulate --help"] / eager, 3),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cli_startup.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = "".join(
        f"| `{name}` | {value:.3f} | {value / bare:.2f} | {value / eager:.3f} |\n"
        for name, value in medians.items()
    )
    (RESULTS / "cli_startup.md").write_text(
        "# CLI startup benchmark\n\n"
        f"`{result['command']}` on {result['machine']}, Python {result['python']}, "
        f"{result['ran_at']} (load average {result['load_average_1min_after']} after)\n\n"
        f"Median wall time of {args.runs} runs, each a fresh interpreter.\n\n"
        "| command | median s | ratio to `python -c pass` "
        "| ratio to the eager import of every stage |\n"
        "| --- | ---: | ---: | ---: |\n" + rows
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
