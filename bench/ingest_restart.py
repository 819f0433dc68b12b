"""Restart after SIGKILL: seconds from starting a new `learnstream ingest` to its first
committed batch, as a static group member (the default) and as a dynamic one, same run.

    python -m bench.ingest_restart --rounds 3

Per round and mode: events are produced to a private namespace, an ingest child process
appends all of them, is killed with SIGKILL, more events are produced, and a new child is
started. Its JSON log gives the time to ``ingest started`` (process start-up: imports,
broker connection) and to its first ``batch committed`` (that plus getting the partitions
back). Writes bench/results/ingest_restart.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from rich.console import Console

from bench.ingest import drop_database, fresh_database, generate, produce
from bench.publish import RESULTS
from devstack import ensure_stack
from learnstream.db import connect
from learnstream.log import LOG_TABLES
from learnstream.settings import Settings
from testing.ingest import drop_topics, start_ingest_process

console = Console(stderr=True)


def _count(settings: Settings) -> int:
    total = 0
    with connect(settings) as conn:
        for table in LOG_TABLES.values():
            row = conn.execute(f"SELECT count(*) FROM log.{table}").fetchone()
            total += 0 if row is None else int(row[0])
    return total


def _wait_count(settings: Settings, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while _count(settings) < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {n} rows")
        time.sleep(0.1)


def one_round(base: Settings, static: bool, events: int) -> dict[str, float]:
    tag = uuid.uuid4().hex[:8]
    name = f"ls_bench_restart_{tag}"
    settings = base.with_part(
        topic_namespace=f"restart{tag}.",
        ingest={"consumer_group": f"restart-{tag}", "static_membership": static},
    )
    try:
        settings = fresh_database(settings, name)
        produce(settings, generate(events))
        first = start_ingest_process(settings, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        try:
            _wait_count(settings, events)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        produce(settings, generate(events))
        started = datetime.now(UTC)
        second = start_ingest_process(settings, "--until-idle", "2",
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert second.stderr is not None
        up = committed = None
        for line in second.stderr:
            if not line.startswith(b"{"):
                continue
            entry = orjson.loads(line)
            ts = (datetime.fromisoformat(entry["ts"]) - started).total_seconds()
            if entry.get("msg") == "ingest connecting" and up is None:
                up = ts
            if entry.get("msg") == "batch committed" and committed is None:
                committed = ts
        second.wait()
        if second.returncode != 0 or up is None or committed is None:
            raise SystemExit(f"restarted ingest exited {second.returncode}")
        if _count(settings) != 2 * events:
            raise SystemExit("the restarted ingest did not append every event")
        return {"to_started_s": up, "to_first_commit_s": committed,
                "partitions_back_s": committed - up}
    finally:
        drop_database(base, name)
        drop_topics(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    base = Settings()
    ensure_stack(base)
    modes: dict[str, list[dict[str, float]]] = {"static": [], "dynamic": []}
    for i in range(args.rounds):
        for mode in modes:
            measured = one_round(base, mode == "static", args.events)
            console.print(f"round {i + 1} {mode}: {measured}")
            modes[mode].append(measured)
    summary = {
        mode: {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        for mode, rounds in modes.items()
    }
    result: dict[str, Any] = {
        "rounds": args.rounds, "events_per_phase": args.events,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "median": summary, "runs": modes,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest_restart.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = "".join(
        f"| {mode} | {s['to_first_commit_s']:.2f} s | {s['to_started_s']:.2f} s | "
        f"{s['partitions_back_s']:.2f} s |\n" for mode, s in summary.items()
    )
    md = (
        f"# Ingest restart after SIGKILL (median of {args.rounds} rounds)\n\n"
        f"Command: `python -m bench.ingest_restart --rounds {args.rounds}` "
        f"({result['measured_at']}, {result['machine']['cpus']} CPUs shared)\n\n"
        "| group membership | restart -> first committed batch | of which process start-up "
        "| of which getting the partitions back |\n| --- | --- | --- | --- |\n" + rows
    )
    (RESULTS / "ingest_restart.md").write_text(md)
    Console().print(md)


if __name__ == "__main__":
    main()
