"""Ingest throughput: Kafka -> log via `learnstream ingest`, against a plain COPY baseline.

    python -m bench.ingest --events 200000

1. N valid events (a mix of every family, pre-encoded) are produced with the Emitter's
   producer settings (acks=all, idempotent) to a private topic namespace.
2. `learnstream ingest --until-idle 3` (a child process) consumes them into a fresh
   database; its JSON batch logs give the steady-state ingest rate, and the child's peak
   RSS is read from getrusage.
3. Baseline, same run: the ingested rows are exported to a CSV file and loaded with
   `COPY ... FROM STDIN` into the same tables of a second fresh database.

Writes bench/results/ingest.json and ingest.md. Topics and databases are removed after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
from kafka.admin import KafkaAdminClient
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from rich.console import Console
from rich.progress import Progress

from devstack import ensure_stack
from ingest.emitter import Emitter
from ingest.topics import ensure_topics, topic_names
from learnstream.contracts import encode_event
from learnstream.db import libpq_url, migrate
from learnstream.log import LOG_TABLES
from learnstream.settings import Settings
from testing.ingest import start_ingest_process
from tests.examples import example

REPO = Path(__file__).resolve().parent.parent

RESULTS = REPO / "bench" / "results"
console = Console(stderr=True)

#: Share of each event type in the generated stream (playback dominates, as in the app).
MIX = [
    ("playback.heartbeat", 40), ("playback.started", 6), ("playback.paused", 6),
    ("playback.completed", 4), ("playback.seeked", 4), ("content.liked", 6),
    ("content.requested", 4), ("feedback.submitted", 2), ("lesson.position", 10),
    ("assessment.submitted", 10), ("lesson.completed", 4), ("content.generated", 2),
    ("generation.status_changed", 2),
]


def _templates() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for event_type, weight in MIX:
        wire = orjson.loads(encode_event(example(event_type)))
        out.extend([(event_type, wire)] * weight)
    return out


def generate(n: int) -> list[tuple[str, bytes, bytes]]:
    """``(logical topic, key, value)`` for n valid events with distinct ids and times."""
    templates = _templates()
    base = datetime(2025, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        event_type, wire = templates[i % len(templates)]
        learner = f"learner-{i % 5000}"
        wire = {**wire, "event_id": str(uuid.uuid4()), "learner_id": learner,
                "session_id": f"s-{i // 40}",
                "occurred_at": (base + timedelta(seconds=i)).isoformat()}
        if event_type == "content.generated":
            wire["learner_id"] = None
            del wire["learner_id"]
        topic = example(event_type).topic
        out.append((topic.value, learner.encode(), orjson.dumps(wire)))
    return out


def _admin_url(settings: Settings) -> str:
    return make_conninfo(libpq_url(settings.resolved_database_url), dbname="postgres")


def fresh_database(settings: Settings, name: str) -> Settings:
    with psycopg.connect(_admin_url(settings), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = conninfo_to_dict(libpq_url(settings.resolved_database_url))
    url = (f"postgresql://{parts.get('user', '')}@{parts.get('host', 'localhost')}:"
           f"{parts.get('port', 5432)}/{name}")
    db = settings.model_copy(update={"database_url": url})
    migrate(db)
    return db


def drop_database(settings: Settings, name: str) -> None:
    with psycopg.connect(_admin_url(settings), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def produce(settings: Settings, messages: list[tuple[str, bytes, bytes]]) -> float:
    ensure_topics(settings)
    start = time.perf_counter()
    with Emitter(settings) as emitter, Progress(console=console, transient=True) as progress:
        task = progress.add_task("producing", total=len(messages))
        for i, (topic, key, value) in enumerate(messages):
            emitter.send_raw(settings.topic(topic), value, key)
            if i % 10_000 == 0:
                progress.update(task, completed=i)
        emitter.flush()
    return time.perf_counter() - start


def _peak_rss_kb(pid: int) -> int:
    """VmHWM of a live process: the peak resident set of its current program image."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def ingest(settings: Settings, n: int) -> dict[str, Any]:
    start = time.perf_counter()
    process = start_ingest_process(settings, "--until-idle", "3",
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    # Peak RSS is sampled from /proc: getrusage/wait4 report the pre-exec image too, i.e.
    # this (large) benchmark process at fork time, which made the figure meaningless.
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            with contextlib.suppress(OSError, ValueError):  # the process may just have exited
                peak[0] = max(peak[0], _peak_rss_kb(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    batches: list[dict[str, Any]] = []
    for line in process.stderr:
        if line.startswith(b"{"):
            entry = orjson.loads(line)
            if entry.get("msg") == "batch committed":
                batches.append(entry)
    process.wait()
    sampler.join()
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"ingest exited {process.returncode}")
    peak_rss_kb = peak[0]
    first = datetime.fromisoformat(batches[0]["ts"])
    last = datetime.fromisoformat(batches[-1]["ts"])
    steady = max((last - first).total_seconds(), 1e-6)
    inserted = sum(b["inserted"] for b in batches)
    # The first batch's rows were written before its timestamp: leave them out of the rate.
    return {
        "inserted": inserted, "batches": len(batches), "wall_s": wall,
        "steady_s": steady, "events_per_s": (inserted - batches[0]["inserted"]) / steady,
        "events_per_s_incl_startup": inserted / wall, "peak_rss_mb": peak_rss_kb / 1024,
        "dead_lettered": sum(b["dead_lettered"] for b in batches),
    }


def copy_baseline(source: Settings, target: Settings) -> dict[str, Any]:
    """Export the ingested rows to CSV files, then time COPY FROM into fresh tables."""
    total_rows = 0
    seconds = 0.0
    with tempfile.TemporaryDirectory() as tmp, psycopg.connect(
        libpq_url(source.resolved_database_url)
    ) as src, psycopg.connect(libpq_url(target.resolved_database_url)) as dst:
        for table in LOG_TABLES.values():
            path = Path(tmp) / f"{table}.csv"
            columns = [r[0] for r in src.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'log' "
                "AND table_name = %s AND column_name NOT IN ('position', 'tx_id', 'received_at') "
                "ORDER BY ordinal_position", (table,)).fetchall()]
            cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
            with path.open("wb") as out, src.cursor().copy(
                sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT csv)").format(
                    cols, sql.Identifier("log", table))) as copy:
                for chunk in copy:
                    out.write(chunk)
            start = time.perf_counter()
            with dst.cursor() as cur, path.open("rb") as data:
                with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                        sql.Identifier("log", table), cols)) as copy:
                    while chunk := data.read(1 << 20):
                        copy.write(chunk)
                total_rows += cur.rowcount
            dst.commit()
            seconds += time.perf_counter() - start
    return {"rows": total_rows, "seconds": seconds, "rows_per_s": total_rows / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.events

    base = Settings()
    ensure_stack(base)
    tag = uuid.uuid4().hex[:8]
    settings = base.with_part(
        topic_namespace=f"bench{tag}.", ingest={"consumer_group": f"bench-{tag}"}
    )
    ingest_db, copy_db = f"ls_bench_ingest_{tag}", f"ls_bench_copy_{tag}"
    try:
        settings = fresh_database(settings, ingest_db)
        copy_target = fresh_database(base, copy_db)
        console.print(f"generating {n:,} events")
        messages = generate(n)
        produce_s = produce(settings, messages)
        console.print(f"produced in {produce_s:.1f}s; ingesting")
        ingested = ingest(settings, n)
        console.print("COPY baseline")
        baseline = copy_baseline(settings, copy_target)
    finally:
        drop_database(base, ingest_db)
        drop_database(base, copy_db)
        admin = KafkaAdminClient(bootstrap_servers=settings.resolved_kafka_bootstrap)
        try:
            admin.delete_topics(topic_names(settings))
        finally:
            admin.close()

    if ingested["inserted"] != n:
        raise SystemExit(f"inserted {ingested['inserted']} of {n}")
    result = {
        "events": n,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "produce": {"seconds": produce_s, "events_per_s": n / produce_s},
        "ingest": ingested,
        "copy_baseline": baseline,
        "ratio_ingest_to_copy": ingested["events_per_s"] / baseline["rows_per_s"],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(result, indent=2) + "\n")
    summary = (
        f"# Ingest benchmark ({n:,} events)\n\n"
        f"Command: `python -m bench.ingest --events {n}` ({result['measured_at']}, "
        f"{result['machine']['cpus']} CPUs shared)\n\n"
        "| stage | rate | notes |\n| --- | --- | --- |\n"
        f"| produce (Emitter settings, acks=all, idempotent) | "
        f"{result['produce']['events_per_s']:,.0f} events/s | {produce_s:.1f} s |\n"
        f"| ingest (`learnstream ingest`, steady state) | {ingested['events_per_s']:,.0f} "
        f"events/s | {ingested['batches']} batches, peak RSS {ingested['peak_rss_mb']:.0f} MB |\n"
        f"| ingest incl. startup and 3 s idle wait | "
        f"{ingested['events_per_s_incl_startup']:,.0f} events/s | {ingested['wall_s']:.1f} s |\n"
        f"| baseline: plain COPY of the same rows | {baseline['rows_per_s']:,.0f} rows/s | "
        f"{baseline['seconds']:.1f} s |\n\n"
        f"Ingest runs at **{result['ratio_ingest_to_copy']:.2f}x** the speed of a bare COPY.\n"
    )
    (RESULTS / "ingest.md").write_text(summary)
    Console().print(summary)


if __name__ == "__main__":
    main()
