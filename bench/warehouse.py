"""Warehouse benchmark: export rate per transport, and the engagement aggregation over N
events in DuckDB and in Polars next to the same SQL in PostgreSQL, same data, same run.

    python -m bench.warehouse --events 1000000            # develop
    python -m bench.warehouse --events 10000000           # the 10M figure

The log is filled with synthetic plays *inside PostgreSQL* (one INSERT ... SELECT over
generate_series; going through the simulator and Kafka would take far longer than the
measurement), then exported to Parquet with the real export; every engine then aggregates
the same rows. The three results must be equal (to 1e-9 relative) or the run fails.
Writes bench/results/warehouse.json and warehouse.md.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from polars.testing import assert_frame_equal
from psycopg.conninfo import make_conninfo
from rich.console import Console
from rich.progress import Progress

# This script is called warehouse.py: put the repository first so `warehouse` is the package.
from bench.publish import publish
from devstack import ensure_stack
from learnstream.db import connect, libpq_url, migrate
from learnstream.settings import Settings
from warehouse import catalog
from warehouse.export import export_log
from warehouse.jobs import run_job
from warehouse.jobs.engagement import (
    content_engagement_duckdb,
    content_engagement_polars,
    content_engagement_postgres,
    scan_events,
)
from warehouse.layout import WarehouseLayout

REPO = Path(__file__).resolve().parent.parent


#: Synthetic plays: 8 events each (start, 6 heartbeats or a replay, then completion or skip),
#: 3 plays per session, 20 % anonymous sessions. Likes ~3 % of the log; one content.generated
#: per content.
FILL_BEHAVIOR = """
INSERT INTO log.behavioral_events
    (event_id, event_type, schema_version, occurred_at, session_id, learner_id, content_id,
     payload, context, kafka_topic, kafka_partition, kafka_offset,
     playback_position, playback_position_percent, duration, content_characteristics)
SELECT gen_random_uuid(),
       CASE WHEN k = 0 THEN 'playback.started'
            WHEN k = 7 AND play %% 3 = 0 THEN 'playback.skipped'
            WHEN k = 7 THEN 'playback.completed'
            WHEN k = 6 AND play %% 10 = 0 THEN 'playback.replayed'
            ELSE 'playback.heartbeat' END,
       1,
       timestamptz '2025-01-06 00:00:00+00' + play * interval '7 seconds' + k * interval '30 s',
       's' || (play / 3),
       CASE WHEN (play / 3) %% 5 = 0 THEN NULL ELSE 'l' || ((play / 3) %% %(learners)s) END,
       'c' || c,
       jsonb_build_object('playback_position', k * 40, 'duration', 300),
       '{}'::jsonb, 'bench', 0, i,
       CASE WHEN k = 7 AND play %% 3 = 0 THEN 45 + (play %% 200) ELSE k * 40 END,
       CASE WHEN i %% 2 = 0 THEN NULL ELSE least(100, k * 40 / 3.0) END,
       CASE WHEN play %% 17 = 0 THEN NULL ELSE 300 END,
       jsonb_build_object(
           'format', (ARRAY['narrative', 'podcast', 'educational'])[1 + c %% 3],
           'genre', 'g' || (c %% 7),
           'topic', 't' || (c %% 11),
           'difficulty', (ARRAY['lexical-heavy', 'discourse-heavy'])[1 + c %% 2])
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i,
     LATERAL (SELECT i / 8 AS play, i %% 8 AS k, (i / 8) %% %(contents)s AS c) AS p
"""

FILL_LIKES = """
INSERT INTO log.like_events
    (event_id, event_type, schema_version, occurred_at, session_id, learner_id, content_id,
     payload, context, kafka_topic, kafka_partition, kafka_offset, reaction_type,
     content_characteristics)
SELECT gen_random_uuid(),
       CASE WHEN i %% 4 = 0 THEN 'content.unliked' ELSE 'content.liked' END, 1,
       timestamptz '2025-01-06 00:00:00+00' + i * interval '11 seconds',
       's' || (i %% 50000), 'l' || (i %% %(learners)s), 'c' || ((i * 7) %% %(contents)s),
       '{}'::jsonb, '{}'::jsonb, 'bench', 1, i, 'like', '{"format": "podcast"}'::jsonb
FROM generate_series(1, %(likes)s::bigint) AS i
"""

FILL_CATALOG = """
INSERT INTO log.catalog_events
    (event_id, event_type, schema_version, occurred_at, session_id, content_id, payload,
     context, kafka_topic, kafka_partition, kafka_offset, format, genre, topic, difficulty)
SELECT gen_random_uuid(), 'content.generated', 1, timestamptz '2025-01-05 00:00:00+00',
       'generator', 'c' || c, jsonb_build_object('difficulty_score', (c %% 10) / 10.0),
       '{}'::jsonb, 'bench', 2, c,
       (ARRAY['narrative', 'podcast', 'educational'])[1 + c %% 3], 'g' || (c %% 7),
       't' || (c %% 11), (ARRAY['lexical-heavy', 'discourse-heavy'])[1 + c %% 2]
FROM generate_series(0, %(contents)s - 1) AS c
"""


def _fresh_database(base: Settings) -> tuple[Settings, str]:
    name = f"ls_bench_wh_{uuid.uuid4().hex[:8]}"
    admin = make_conninfo(libpq_url(base.resolved_database_url), dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.resolved_database_url.rsplit("/", 1)[0] + f"/{name}"
    settings = base.model_copy(update={"database_url": url})
    migrate(settings)
    return settings, admin


def _fill(settings: Settings, events: int, progress: Progress) -> dict[str, int]:
    contents = max(50, min(5000, events // 2000))
    learners = max(100, events // 400)
    likes = events * 3 // 100
    behavior = events - likes - contents
    chunk = 1_000_000
    task = progress.add_task("filling the log in PostgreSQL", total=behavior)
    with connect(settings, autocommit=True) as conn:
        conn.execute(FILL_CATALOG, {"contents": contents})
        conn.execute(FILL_LIKES, {"likes": likes, "learners": learners, "contents": contents})
        for first in range(0, behavior, chunk):
            last = min(behavior, first + chunk) - 1
            conn.execute(
                FILL_BEHAVIOR,
                {"first": first, "last": last, "learners": learners, "contents": contents},
            )
            progress.update(task, completed=last + 1)
        conn.execute("VACUUM ANALYZE")
    return {"behavior": behavior, "likes": likes, "contents": contents, "learners": learners}


def _timed(fn: Any, repeat: int = 1) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def run(events: int, transports: list[str], export_sample: int) -> dict[str, Any]:
    console = Console()
    base = Settings()
    ensure_stack(base, kafka=False)
    settings, admin = _fresh_database(base)
    workdir = Path(tempfile.mkdtemp(prefix="ls-bench-wh-"))
    report: dict[str, Any] = {
        "events": events,
        "machine": {"cpus": 2, "python": platform.python_version()},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        with Progress(console=console) as progress:
            started = time.perf_counter()
            report["data"] = _fill(settings, events, progress)
            report["fill_seconds"] = round(time.perf_counter() - started, 1)
        # Export rate per transport over the same first rows (max_batches caps the sample).
        export: dict[str, Any] = {}
        batch_rows = 200_000
        for transport in transports:
            target = settings.with_part(warehouse={"dir": workdir / f"x-{transport}"})
            result = export_log(
                target, transport=transport,  # type: ignore[arg-type]
                batch_rows=batch_rows, max_batches=max(1, export_sample // batch_rows),
            )
            export[transport] = {
                "rows": result.rows, "seconds": round(result.seconds, 2),
                "rows_per_second": round(result.rows_per_second),
            }
            console.print(f"export via {transport}: {result.rows_per_second:,.0f} rows/s")
            shutil.rmtree(target.warehouse.dir)
        fastest = max(export, key=lambda t: export[t]["rows_per_second"])
        report["export_sample"] = export
        wh = settings.with_part(warehouse={"dir": workdir / "warehouse"})
        full = export_log(wh, transport=fastest, batch_rows=batch_rows)  # type: ignore[arg-type]
        report["export_full"] = {
            "transport": fastest, "rows": full.rows, "seconds": round(full.seconds, 1),
            "rows_per_second": round(full.rows_per_second),
        }
        console.print(f"full export: {full.rows:,} rows, {full.rows_per_second:,.0f} rows/s")
        layout = WarehouseLayout(wh.warehouse.dir)
        con = catalog.open(wh)
        duck_s, duck = _timed(lambda: content_engagement_duckdb(con), repeat=2)
        con.close()
        polars_s, pol = _timed(lambda: content_engagement_polars(scan_events(layout.events)), 2)
        console.print(f"content engagement: duckdb {duck_s:.2f} s, polars {polars_s:.2f} s")
        pg_s, pg = _timed(lambda: content_engagement_postgres(settings))
        console.print(f"content engagement: postgres {pg_s:.2f} s")
        assert_frame_equal(duck, pol, check_exact=False, rel_tol=1e-9)
        assert_frame_equal(duck, pg, check_exact=False, rel_tol=1e-9)
        job = {}
        for engine in ("duckdb", "polars"):
            seconds, result = _timed(
                lambda e=engine: run_job(wh, "engagement", engine=e, write_to_postgres=False)
            )
            job[engine] = round(seconds, 2)
        report["content_engagement_seconds"] = {
            "duckdb": round(duck_s, 3), "polars": round(polars_s, 3), "postgres": round(pg_s, 3),
        }
        report["speedup_vs_postgres"] = {
            "duckdb": round(pg_s / duck_s, 1), "polars": round(pg_s / polars_s, 1),
        }
        report["results_match"] = True
        report["contents"] = duck.height
        report["full_engagement_job_seconds"] = job
        parquet_bytes = sum(p.stat().st_size for p in layout.part_files())
        report["parquet_mb"] = round(parquet_bytes / 2**20, 1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        with psycopg.connect(admin, autocommit=True) as conn:
            name = settings.resolved_database_url.rsplit("/", 1)[1]
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return report


def _markdown(report: dict[str, Any]) -> str:
    ce, sp = report["content_engagement_seconds"], report["speedup_vs_postgres"]
    lines = [
        f"# Warehouse benchmark ({report['events']:,} events, 2 shared cores)",
        "",
        f"Measured {report['measured_at']} with `python -m bench.warehouse "
        f"--events {report['events']}`.",
        "",
        "| export transport | rows | rows/s |",
        "| --- | ---: | ---: |",
    ]
    for name, e in report["export_sample"].items():
        lines.append(f"| {name} | {e['rows']:,} | {e['rows_per_second']:,} |")
    full = report["export_full"]
    lines += [
        "",
        f"Full export ({full['transport']}): {full['rows']:,} rows in {full['seconds']} s "
        f"({full['rows_per_second']:,} rows/s), {report['parquet_mb']} MB of Parquet.",
        "",
        "| per-content engagement aggregation | seconds | vs PostgreSQL |",
        "| --- | ---: | ---: |",
        f"| DuckDB over Parquet | {ce['duckdb']} | {sp['duckdb']}x |",
        f"| Polars over Parquet | {ce['polars']} | {sp['polars']}x |",
        f"| PostgreSQL, same SQL over the log | {ce['postgres']} | 1x |",
        "",
        f"Results identical across the three (rel. tol. 1e-9): {report['results_match']} "
        f"({report['contents']} contents).",
        f"Whole engagement job (all tables, no write-back): "
        f"DuckDB {report['full_engagement_job_seconds']['duckdb']} s, "
        f"Polars {report['full_engagement_job_seconds']['polars']} s.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--transports", default="copy_csv,adbc,polars")
    parser.add_argument("--export-sample", type=int, default=1_000_000,
                        help="rows exported per transport for the rate comparison")
    args = parser.parse_args()
    transports = []
    for name in args.transports.split(","):
        if name == "adbc":
            try:
                import adbc_driver_postgresql  # noqa: F401
            except ImportError:
                Console().print("adbc-driver-postgresql not installed: skipping adbc")
                continue
        transports.append(name)
    report = run(args.events, transports, args.export_sample)
    Console().print(publish("warehouse", report, _markdown(report)))


if __name__ == "__main__":
    main()
