"""Projection throughput: full rebuild rate per projection, and incremental lag under ingest.

    python -m bench.projections --sizes 200000            # development size
    python -m bench.projections --sizes 1000000 5000000   # the issue's sizes

For each size, in a fresh database:

1. ``--base`` events (default 200k) come from the simulator (``simulator``, realistic
   mix, duplicates and late events included) and are appended with ``append_batch``; the log
   is then grown to the size by copying those rows with set-based SQL under new event ids and
   suffixed session/learner ids (``~k``), so the mix and per-learner shape stay the same.
2. Baseline, same run: copying every log row into a scratch table (``CREATE TABLE AS``), the
   cost of merely reading and writing the data once.
3. Each projection is rebuilt with ``projections.rebuild`` (bulk set-based fill, indexes,
   catch-up, atomic swap): events/s over the log rows of its event types, and over the whole
   log for "all projections".
4. At sizes <= 200k, the incremental path replaying the same rows (``replay_rebuild``) for
   the set-based/replay ratio.
5. Incremental lag, on the smallest size: the projector runs (NOTIFY + polling) while a
   writer appends simulator events at a steady rate; for every written batch, the time from
   its commit to the moment each projection's checkpoint covers it. p50/p99 over batches.

Writes bench/results/projections.json and projections.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from rich.console import Console
from rich.progress import Progress

from app import running_projections
from devstack import ensure_stack
from ingest.appender import append_batch
from ingest.rows import SourceOffset, columns_of
from learnstream.contracts import Envelope, Topic
from learnstream.db import connect, libpq_url, migrate
from learnstream.log import LOG_TABLES, READABLE_SQL, frontier
from learnstream.settings import Settings
from projections.fold import replay_rebuild
from projections.projection import Projection, Store
from projections.rebuild import rebuild
from projections.runner import run_projections
from simulator import Simulation, SimulationConfig, default_start

REPO = Path(__file__).resolve().parent.parent

RESULTS = REPO / "bench" / "results"
console = Console(stderr=True)


def _url(settings: Settings, dbname: str) -> str:
    conninfo = make_conninfo(libpq_url(settings.resolved_database_url), dbname=dbname)
    parts = psycopg.conninfo.conninfo_to_dict(conninfo)
    return (
        f"postgresql://{parts.get('user', '')}@{parts.get('host', 'localhost')}:"
        f"{parts.get('port', 5432)}/{dbname}"
    )


def create_database(settings: Settings) -> tuple[Settings, str]:
    name = f"ls_bench_proj_{uuid.uuid4().hex[:8]}"
    admin = make_conninfo(libpq_url(settings.resolved_database_url), dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db = settings.model_copy(update={"database_url": _url(settings, name)})
    migrate(db)
    return db, name


def drop_database(settings: Settings, name: str) -> None:
    admin = make_conninfo(libpq_url(settings.resolved_database_url), dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def simulated(count: int, seed: int = 11) -> list[Envelope]:
    days = 14
    config = SimulationConfig(
        learners=max(50, count // 400), days=days, seed=seed, start=default_start(days)
    )
    return list(itertools.islice(Simulation(config).events(), count))


def append_events(db: Settings, events: list[Envelope], chunk: int = 5000) -> float:
    started = time.perf_counter()
    with connect(db) as conn, Progress(console=console, transient=True) as progress:
        task = progress.add_task("appending simulated events", total=len(events))
        for start in range(0, len(events), chunk):
            part = events[start : start + chunk]
            append_batch(
                conn, [(e, SourceOffset("bench", 0, start + i)) for i, e in enumerate(part)]
            )
            progress.advance(task, len(part))
    return time.perf_counter() - started


def grow_log(db: Settings, copies: int) -> None:
    """Copy the base rows ``copies`` times under new ids (set-based SQL, one table at a time)."""
    with connect(db, autocommit=True) as conn:
        for topic, table in LOG_TABLES.items():
            names = [c.name for c in columns_of(topic)]
            select = [
                "gen_random_uuid()"
                if n == "event_id"
                else "session_id || '~' || k"
                if n == "session_id"
                else "learner_id || '~' || k"
                if n == "learner_id"
                else n
                for n in names
            ]
            query = sql.SQL(
                "INSERT INTO {t} ({cols}) SELECT {sel} FROM {t}, generate_series(1, %s) AS k"
            ).format(
                t=sql.Identifier("log", table),
                cols=sql.SQL(", ").join(sql.Identifier(n) for n in names),
                sel=sql.SQL(", ".join(select)),
            )
            conn.execute(query, (copies,))
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier("log", table)))


def wait_readable(db: Settings) -> None:
    with connect(db, autocommit=True) as conn:
        for _ in range(6000):
            fam = frontier(conn, list(Topic)[:5])
            pending = conn.execute(
                f"SELECT count(*) FROM log.{LOG_TABLES[Topic.BEHAVIOR]}"
                f" WHERE NOT ({READABLE_SQL})"
            ).fetchone()
            if fam is not None and pending is not None and pending[0] == 0:
                return
            time.sleep(0.05)


def log_rows(conn: psycopg.Connection[Any], projection: Projection | None = None) -> int:
    total = 0
    for topic, table in LOG_TABLES.items():
        if projection is None:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("log", table))
            row = conn.execute(query).fetchone()
        elif topic in projection.families:
            query = sql.SQL("SELECT count(*) FROM {} WHERE event_type = ANY(%s)").format(
                sql.Identifier("log", table)
            )
            row = conn.execute(query, (sorted(projection.event_types),)).fetchone()
        else:
            continue
        total += int(row[0]) if row else 0
    conn.commit()
    return total


def baseline_copy(conn: psycopg.Connection[Any]) -> float:
    """Seconds to copy every log row once into scratch tables (read + write, no logic)."""
    started = time.perf_counter()
    with conn.transaction():
        for table in LOG_TABLES.values():
            conn.execute(
                sql.SQL("CREATE TEMP TABLE {} AS SELECT * FROM {}").format(
                    sql.Identifier(f"copy_{table}"), sql.Identifier("log", table)
                )
            )
    seconds = time.perf_counter() - started
    with conn.transaction():
        for table in LOG_TABLES.values():
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(f"copy_{table}")))
    return seconds


def bench_size(settings: Settings, size: int, base: int, replay: bool) -> dict[str, Any]:
    db, name = create_database(settings)
    try:
        events = simulated(min(size, base))
        append_seconds = append_events(db, events)
        copies = max(0, round(size / len(events)) - 1)
        if copies:
            console.print(f"growing the log x{copies + 1} with set-based copies")
            grow_log(db, copies)
        wait_readable(db)
        result: dict[str, Any] = {"base_events": len(events), "copies": copies + 1}
        with connect(db) as conn:
            total = log_rows(conn)
            result["log_rows"] = total
            result["append_rate_base"] = round(len(events) / append_seconds)
            copy_seconds = baseline_copy(conn)
            result["baseline_copy_seconds"] = round(copy_seconds, 2)
            result["baseline_copy_rate"] = round(total / copy_seconds)
            per: dict[str, Any] = {}
            all_seconds = 0.0
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task(
                    f"rebuilding at {total:,} rows", total=len(running_projections(db))
                )
                for projection in running_projections(db):
                    rows = log_rows(conn, projection)
                    done = rebuild(conn, projection)
                    all_seconds += done.total_seconds
                    entry = {
                        "events": rows,
                        "seconds": round(done.total_seconds, 2),
                        "bulk_seconds": round(done.bulk_seconds, 2),
                        "events_per_s": round(rows / done.total_seconds),
                    }
                    if replay:
                        entry.update(replay_rate(conn, projection, rows))
                    per[projection.name] = entry
                    progress.advance(task)
            result["projections"] = per
            parallel = rebuild_in_parallel(db, per)
            result["all_parallel_seconds"] = round(parallel, 2)
            result["all_parallel_events_per_s"] = round(total / parallel)
            result["all_seconds"] = round(all_seconds, 2)
            result["all_events_per_s"] = round(total / all_seconds)
            result["all_vs_baseline_copy"] = round(all_seconds / copy_seconds, 2)
        return result
    finally:
        drop_database(settings, name)


def rebuild_in_parallel(db: Settings, sequential: dict[str, Any], workers: int = 2) -> float:
    """Wall-clock seconds to rebuild every projection on ``workers`` connections (longest
    first, each worker takes the next one when free): what two cores can do."""
    order = sorted(running_projections(db), key=lambda p: -sequential[p.name]["seconds"])
    queue = list(order)
    lock = threading.Lock()

    def work() -> None:
        with connect(db) as conn:
            while True:
                with lock:
                    if not queue:
                        return
                    projection = queue.pop(0)
                rebuild(conn, projection)

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def replay_rate(conn: psycopg.Connection[Any], projection: Projection, rows: int) -> dict[str, Any]:
    """The incremental path over the same rows (what a rebuild without SQL would cost)."""
    store = Store("projection_store", {t.name: f"{t.name}__replay" for t in projection.tables})
    with conn.transaction():
        projection.create_tables(conn, store)
    started = time.perf_counter()
    upto = frontier(conn, projection.families)
    with conn.transaction():
        if upto is not None:
            replay_rebuild(projection, conn, store, upto)
    seconds = time.perf_counter() - started
    with conn.transaction():
        for table in store.tables:
            conn.execute(sql.SQL("DROP TABLE {}").format(store.table(table)))
    return {
        "replay_seconds": round(seconds, 2),
        "replay_events_per_s": round(rows / seconds) if seconds else None,
    }


def bench_lag(settings: Settings, rate: int, seconds: float, batch: int) -> dict[str, Any]:
    """Commit -> checkpoint-covers-it latency per projection while ingest runs steadily."""
    db, name = create_database(settings)
    try:
        events = simulated(int(rate * seconds) + 50_000, seed=23)
        warm, stream = events[:50_000], events[50_000:]
        append_events(db, warm)
        wait_readable(db)
        projections = running_projections(db)
        fast = db.with_part(projections={"poll_ms": 200})
        run_projections(fast, projections, until_caught_up=True)
        family_of = {p.name: p.families for p in projections}
        stop = threading.Event()
        runner = threading.Thread(
            target=run_projections, args=(fast, projections), kwargs={"stop": stop}
        )
        runner.start()
        written: list[tuple[float, int, dict[Topic, int]]] = []  # (commit time, tx, max pos/fam)
        seen: dict[str, dict[int, float]] = defaultdict(dict)
        # When each batch became readable under the gap rule (its xid below the cluster's
        # xmin): separates waiting for other transactions from the projector's own work.
        readable: dict[int, float] = {}

        def monitor() -> None:
            with connect(db, autocommit=True) as conn:
                while not stop.is_set() or len(seen) < len(projections):
                    now = time.perf_counter()
                    xmin_row = conn.execute(
                        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
                    ).fetchone()
                    xmin = int(xmin_row[0]) if xmin_row else 0
                    for i, (_, btx, _) in enumerate(written):
                        if i not in readable and btx < xmin:
                            readable[i] = now
                    for pname, tx, pos in conn.execute(
                        "SELECT name, tx_id::text::bigint, position FROM projections.checkpoints"
                    ).fetchall():
                        for i, (_, btx, maxpos) in enumerate(written):
                            if i in seen[pname]:
                                continue
                            target = max(
                                (maxpos[f] for f in family_of[pname] if f in maxpos), default=None
                            )
                            if target is None:
                                seen[pname][i] = -1.0
                            elif (tx, pos) >= (btx, target):
                                seen[pname][i] = now
                    if stop.is_set() and all(len(v) >= len(written) for v in seen.values()):
                        return
                    time.sleep(0.002)

        watcher = threading.Thread(target=monitor)
        watcher.start()
        interval = batch / rate
        started = time.perf_counter()
        with connect(db) as conn:
            for n, start in enumerate(range(0, len(stream), batch)):
                part = stream[start : start + batch]
                conn.execute("SELECT 1")
                append_batch(
                    conn, [(e, SourceOffset("lag", 0, start + i)) for i, e in enumerate(part)]
                )
                ids = [e.event_id for e in part]
                positions: dict[Topic, int] = {}
                tx = 0
                for topic, table in LOG_TABLES.items():
                    row = conn.execute(
                        sql.SQL(
                            "SELECT max(tx_id::text::bigint), max(position) FROM {} "
                            "WHERE event_id = ANY(%s)"
                        ).format(sql.Identifier("log", table)),
                        (ids,),
                    ).fetchone()
                    if row and row[1] is not None:
                        tx, positions[topic] = int(row[0]), int(row[1])
                conn.commit()
                written.append((time.perf_counter(), tx, positions))
                delay = started + (n + 1) * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
        elapsed = time.perf_counter() - started
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline and any(
            len(seen[p.name]) < len(written) for p in projections
        ):
            time.sleep(0.05)
        stop.set()
        runner.join()
        watcher.join(timeout=5)
        lags: list[float] = []
        per: dict[str, Any] = {}
        for p in projections:
            mine = [seen[p.name][i] - written[i][0] for i in seen[p.name] if seen[p.name][i] > 0]
            lags.extend(mine)
            if mine:
                per[p.name] = {"p50_ms": _pct(mine, 50), "p99_ms": _pct(mine, 99)}
        all_done = []
        for i, w in enumerate(written):
            times = [seen[p.name].get(i) for p in projections]
            if all(t is not None for t in times):
                all_done.append(max(t for t in times if t is not None) - w[0])
        wait = [readable[i] - w[0] for i, w in enumerate(written) if i in readable]
        work = [
            max(seen[p.name][i] for p in projections if seen[p.name].get(i, -1) > 0) - readable[i]
            for i in readable
            if any(seen[p.name].get(i, -1) > 0 for p in projections)
        ]
        return {
            "visibility_wait_p50_ms": _pct(wait, 50),
            "visibility_wait_p99_ms": _pct(wait, 99),
            "after_readable_p50_ms": _pct(work, 50),
            "after_readable_p99_ms": _pct(work, 99),
            "target_rate": rate,
            "achieved_rate": round(len(stream) / elapsed),
            "batch": batch,
            "batches": len(written),
            "all_projections_p50_ms": _pct(all_done, 50),
            "all_projections_p99_ms": _pct(all_done, 99),
            "per_projection": per,
        }
    finally:
        drop_database(settings, name)


def _pct(values: list[float], q: int) -> float:
    clean = sorted(v for v in values if v == v)
    if not clean:
        return float("nan")
    if len(clean) == 1:
        return round(clean[0] * 1000, 1)
    return round(statistics.quantiles(clean, n=100, method="inclusive")[q - 1] * 1000, 1)


def write_markdown(report: dict[str, Any], path: Path) -> None:
    lines = [
        "# Projections benchmark",
        "",
        f"`{report['command']}` on {report['machine']} ({report['cpus']} CPUs), {report['when']}.",
        "",
    ]
    for size in report["sizes"]:
        lines += [
            f"## {size['log_rows']:,} log rows "
            f"({size['base_events']:,} simulated x {size['copies']})",
            "",
            f"- all projections rebuilt one after another: **{size['all_events_per_s']:,} log "
            f"events/s** ({size['all_seconds']} s), {size['all_vs_baseline_copy']}x the time of "
            f"the baseline (copying the log once: {size['baseline_copy_rate']:,} rows/s)",
            f"- all projections rebuilt on 2 connections (2 cores): "
            f"**{size['all_parallel_events_per_s']:,} log events/s** "
            f"({size['all_parallel_seconds']} s wall clock)",
            "",
            "| projection | events read | rebuild s | events/s | replay events/s |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for name, p in size["projections"].items():
            replay = p.get("replay_events_per_s")
            lines.append(
                f"| {name} | {p['events']:,} | {p['seconds']} | {p['events_per_s']:,} | "
                f"{'-' if replay is None else f'{replay:,}'} |"
            )
        lines.append("")
    lag = report.get("lag")
    if lag:
        lines += [
            "## Incremental lag (commit -> read model covers it)",
            "",
            f"Writer at {lag['achieved_rate']:,} events/s (target {lag['target_rate']:,}) in "
            f"batches of {lag['batch']}; {lag['batches']} batches. All projections: "
            f"p50 **{lag['all_projections_p50_ms']} ms**, "
            f"p99 **{lag['all_projections_p99_ms']} ms**.",
            "",
            f"Split: waiting until the batch is readable under the gap rule (no older "
            f"transaction open in the cluster) p50 {lag['visibility_wait_p50_ms']} ms / p99 "
            f"{lag['visibility_wait_p99_ms']} ms; from readable to every projection covering "
            f"it p50 {lag['after_readable_p50_ms']} ms / p99 {lag['after_readable_p99_ms']} ms.",
            "",
            "| projection | p50 ms | p99 ms |",
            "| --- | ---: | ---: |",
            *(f"| {n} | {v['p50_ms']} | {v['p99_ms']} |" for n, v in lag["per_projection"].items()),
            "",
        ]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200_000])
    parser.add_argument("--base", type=int, default=200_000)
    parser.add_argument("--lag-rate", type=int, default=2000)
    parser.add_argument("--lag-seconds", type=float, default=20)
    parser.add_argument("--lag-batch", type=int, default=200)
    parser.add_argument("--no-lag", action="store_true")
    parser.add_argument("--lag-only", action="store_true")
    parser.add_argument("--out", default="projections")
    args = parser.parse_args()
    settings = Settings()
    ensure_stack(settings, kafka=False)
    report: dict[str, Any] = {
        "command": "python -m bench.projections " + " ".join(sys.argv[1:]),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "sizes": [],
    }
    for size in [] if args.lag_only else args.sizes:
        console.print(f"[bold]size {size:,}[/]")
        entry = bench_size(settings, size, args.base, replay=size <= 200_000)
        report["sizes"].append(entry)
        console.print(
            f"all projections: {entry['all_events_per_s']:,} events/s "
            f"({entry['all_seconds']} s for {entry['log_rows']:,} rows)"
        )
    if not args.no_lag:
        console.print("[bold]incremental lag[/]")
        report["lag"] = bench_lag(settings, args.lag_rate, args.lag_seconds, args.lag_batch)
        console.print(
            f"lag p50 {report['lag']['all_projections_p50_ms']} ms, "
            f"p99 {report['lag']['all_projections_p99_ms']} ms"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(report, indent=2))
    write_markdown(report, RESULTS / f"{args.out}.md")
    console.print(f"wrote bench/results/{args.out}.json and .md")


if __name__ == "__main__":
    main()
