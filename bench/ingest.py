"""Ingest throughput: Kafka -> log via `learnstream ingest`, its levers and its baselines,
all measured in one run.

    python -m bench.ingest --events 1000000 [--peer ../shared/peers/jdbc_sink]

1. N valid events (a mix of every family, pre-encoded) are produced with the Emitter's
   producer settings (acks=all, idempotent) to a private topic namespace.
2. Levers, in this process, on the same messages: decoding (today's checked path, the
   one-call union the codec now uses, pydantic straight from the bytes) and writing (the
   `unnest` insert against COPY BINARY into a staging table, with the log's indexes before
   and after migration 0010, and batch sizes).
3. `learnstream ingest --until-idle 3` (a child process) consumes them into a fresh
   database, once per variant (write method, batch size, `--workers 2`; each its own
   consumer group); its JSON batch logs give the steady-state rate, and its peak RSS is
   sampled from /proc. The Kafka clients alone (aiokafka, which FastStream's Kafka broker
   uses, and confluent-kafka, which its confluent broker uses) consume the same messages
   with no other work, to show the client's share of ingest's time per event.
4. Baselines, same run: the ingested rows are exported and loaded with `COPY ... FROM STDIN`
   (text, and BINARY) into the same tables of fresh databases.
5. With --peer: the Kafka Connect + Debezium JDBC sink harness (its README) runs the same
   number of events on its own private broker and PostgreSQL, after everything above.

Writes bench/results/ingest.json and ingest.md. Topics and databases are removed after.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Union

import orjson
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import Field, TypeAdapter
from rich.console import Console
from rich.progress import Progress

from bench.publish import publish
from devstack import ensure_stack
from ingest.appender import WriteMethod, append_batch
from ingest.emitter import Emitter
from ingest.rows import SourceOffset
from ingest.topics import ensure_topics
from learnstream.contracts import (
    EVENT_TOPICS,
    EVENT_TYPES,
    Envelope,
    Topic,
    decode_event,
    encode_event,
    event_types_on,
)
from learnstream.contracts.codec import DEFAULT_MAX_FUTURE_SKEW
from learnstream.db import libpq_url, migrate
from learnstream.log import LOG_TABLES
from learnstream.settings import Settings
from testing.ingest import drop_topics, start_ingest_process
from tests.examples import example

REPO = Path(__file__).resolve().parent.parent

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


def fresh_database(settings: Settings, name: str, revision: str = "head") -> Settings:
    with psycopg.connect(_admin_url(settings), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = conninfo_to_dict(libpq_url(settings.resolved_database_url))
    url = (f"postgresql://{parts.get('user', '')}@{parts.get('host', 'localhost')}:"
           f"{parts.get('port', 5432)}/{name}")
    db = settings.model_copy(update={"database_url": url})
    migrate(db, revision)
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
    # Several workers write their lines to one stderr: order by time, not by arrival.
    batches.sort(key=lambda b: str(b["ts"]))
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


def copy_baseline(source: Settings, target: Settings, fmt: str = "csv") -> dict[str, Any]:
    """Export the ingested rows to files, then time COPY FROM (``fmt``: csv or binary) into
    fresh tables."""
    total_rows = 0
    seconds = 0.0
    with tempfile.TemporaryDirectory() as tmp, psycopg.connect(
        libpq_url(source.resolved_database_url)
    ) as src, psycopg.connect(libpq_url(target.resolved_database_url)) as dst:
        for table in LOG_TABLES.values():
            path = Path(tmp) / f"{table}.{fmt}"
            columns = [r[0] for r in src.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'log' "
                "AND table_name = %s AND column_name NOT IN ('position', 'tx_id', 'received_at') "
                "ORDER BY ordinal_position", (table,)).fetchall()]
            cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
            with path.open("wb") as out, src.cursor().copy(
                sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT {})").format(
                    cols, sql.Identifier("log", table), sql.SQL(fmt))) as copy:
                for chunk in copy:
                    out.write(chunk)
            start = time.perf_counter()
            with dst.cursor() as cur, path.open("rb") as data:
                with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT {})").format(
                        sql.Identifier("log", table), cols, sql.SQL(fmt))) as copy:
                    while chunk := data.read(1 << 20):
                        copy.write(chunk)
                total_rows += cur.rowcount
            dst.commit()
            seconds += time.perf_counter() - start
    return {"rows": total_rows, "seconds": seconds, "rows_per_s": total_rows / seconds}


@cache
def _topic_adapter(topic: Topic) -> TypeAdapter[Any]:
    """The discriminated union of the event types that travel on ``topic``."""
    classes = tuple(EVENT_TYPES[name] for name in event_types_on(topic))
    union: Any = (
        Annotated[Union[classes], Field(discriminator="event_type")]  # noqa: UP007
        if len(classes) > 1
        else classes[0]
    )
    return TypeAdapter(union)


def _future(event: Envelope) -> Envelope:
    if event.occurred_at > datetime.now(UTC) + DEFAULT_MAX_FUTURE_SKEW:
        raise ValueError("future")
    return event


def _union_from_object(raw: bytes, topic: Topic) -> Envelope:
    """orjson, then one validate_python over the topic's union (the checks left out)."""
    event: Envelope = _topic_adapter(topic).validate_python(orjson.loads(raw))
    return _future(event)


def _union_from_bytes(raw: bytes, topic: Topic) -> Envelope:
    """pydantic straight from the bytes over the topic's union (the checks left out)."""
    event: Envelope = _topic_adapter(topic).validate_json(raw)
    return _future(event)


DECODERS: dict[str, Callable[[bytes, Topic], Envelope]] = {
    "decode_event: orjson.loads, every check, model_validate (kept)":
        lambda raw, topic: decode_event(raw, topic=topic),
    "orjson.loads + TypeAdapter(topic union).validate_python": _union_from_object,
    "TypeAdapter(topic union).validate_json(bytes)": _union_from_bytes,
}


def decode_levers(messages: list[tuple[str, bytes, bytes]]) -> list[dict[str, Any]]:
    """events/s of each decoder over the same messages, each best of 3 passes."""
    work = [(Topic(topic), value) for topic, _, value in messages]
    out = []
    for name, decode in DECODERS.items():
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for topic, value in work:
                decode(value, topic)
            best = min(best, time.perf_counter() - start)
        out.append({"decoder": name, "events_per_s": len(work) / best,
                    "us_per_event": best / len(work) * 1e6})
    return out


#: (write method, migration the log is at, batch size): today first, then each lever. (The
#: log's indexes before migration 0010 were measured here until 0011: the appender now reads
#: the erasure suppression list, which a log at 0008 does not have; the figures are in this
#: file's history.)
WRITE_CONFIGS: list[tuple[WriteMethod, str, int]] = [
    ("copy", "head", 2000),
    ("unnest", "head", 2000),
    ("copy", "head", 500),
    ("copy", "head", 1000),
    ("copy", "head", 5000),
    ("copy", "head", 10000),
]


def write_levers(
    base: Settings, messages: list[tuple[str, bytes, bytes]], tag: str
) -> list[dict[str, Any]]:
    """events/s of append_batch over the same decoded events, per topic in batches, into a
    fresh database per configuration (one transaction per batch, as ingest does)."""
    by_topic: dict[Topic, list[tuple[Envelope, SourceOffset]]] = {}
    for i, (topic, _, value) in enumerate(messages):
        event = decode_event(value, topic=Topic(topic))
        by_topic.setdefault(event.topic, []).append((event, SourceOffset(topic, 0, i)))
    out = []
    for method, revision, size in WRITE_CONFIGS:
        name = f"ls_bench_write_{tag}_{method}_{size}_{revision[:4]}"
        try:
            target = fresh_database(base, name, revision)
            seconds = 0.0
            with psycopg.connect(libpq_url(target.resolved_database_url)) as conn:
                for events in by_topic.values():
                    for at in range(0, len(events), size):
                        start = time.perf_counter()
                        append_batch(conn, events[at:at + size], method=method)
                        seconds += time.perf_counter() - start
        finally:
            drop_database(base, name)
        indexes = "after 0010" if revision == "head" else "before (0008)"
        out.append({"method": method, "indexes": indexes, "batch": size, "seconds": seconds,
                    "events_per_s": len(messages) / seconds})
        console.print(f"write {method} indexes {indexes} batch {size}: "
                      f"{len(messages) / seconds:,.0f} events/s")
    return out


def kafka_client_levers(settings: Settings, n: int) -> list[dict[str, Any]]:
    """events/s of each Kafka client consuming the n messages of the five event topics
    with no other work (values only, a fresh group each), best of 2 passes."""
    import asyncio

    from aiokafka import AIOKafkaConsumer
    from confluent_kafka import Consumer

    topics = [settings.topic(t) for t in EVENT_TOPICS]

    async def aiokafka_pass() -> float:
        consumer = AIOKafkaConsumer(
            *topics, bootstrap_servers=settings.resolved_kafka_bootstrap,
            group_id=f"bench-aio-{uuid.uuid4().hex[:8]}", auto_offset_reset="earliest",
            enable_auto_commit=False, fetch_max_bytes=4 * 1024 * 1024)
        await consumer.start()
        try:
            got, start = 0, 0.0
            while got < n:
                records = await consumer.getmany(timeout_ms=1000, max_records=5000)
                values = [r.value for batch in records.values() for r in batch]
                if values and not start:
                    start = time.perf_counter()
                got += len(values)
            return time.perf_counter() - start
        finally:
            await consumer.stop()

    def confluent_pass() -> float:
        consumer = Consumer({
            "bootstrap.servers": settings.resolved_kafka_bootstrap,
            "group.id": f"bench-ck-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest",
            "enable.auto.commit": False})
        consumer.subscribe(topics)
        try:
            got, start = 0, 0.0
            while got < n:
                values = [m.value() for m in consumer.consume(5000, 1.0) if m.error() is None]
                if values and not start:
                    start = time.perf_counter()
                got += len(values)
            return time.perf_counter() - start
        finally:
            consumer.close()

    passes: dict[str, Callable[[], float]] = {
        "aiokafka (FastStream's Kafka broker, kept)": lambda: asyncio.run(aiokafka_pass()),
        "confluent-kafka (FastStream's confluent broker)": confluent_pass,
    }
    out = []
    for name, run in passes.items():
        best = min(run() for _ in range(2))
        out.append({"client": name, "events_per_s": n / best, "us_per_event": best / n * 1e6})
        console.print(f"kafka client {name}: {n / best:,.0f} events/s")
    return out


_PEER_LINE = re.compile(rb"jdbc_sink=(\d+) ev/s copy_binary=(\d+) rows/s ratio=([\d.]+)")
_PEER_STEADY = re.compile(rb"steady_ev_per_s=(\d+)")


def peer(path: Path, n: int) -> dict[str, Any]:
    """Run the JDBC sink peer harness for n events; its figures (README in ``path``)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "N": str(n), "RESULTS": str(Path(tmp) / "results.txt")}
        done = subprocess.run(["bash", str(path / "run.sh")], env=env, capture_output=True,
                              timeout=3600, check=False)
    out = done.stdout + done.stderr
    found = _PEER_LINE.search(out)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"peer harness failed ({done.returncode}):\n{out[-3000:].decode()}")
    steady = _PEER_STEADY.search(out)
    return {"events_per_s": int(found[1]), "copy_binary_rows_per_s": int(found[2]),
            "ratio_copy_binary_to_sink": float(found[3]),
            "steady_events_per_s": int(steady[1]) if steady else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--lever-events", type=int, default=200_000,
                        help="Events the in-process decode and write levers use.")
    parser.add_argument("--peer", type=Path, default=None,
                        help="The JDBC sink peer harness folder (runs it after the rest).")
    args = parser.parse_args()
    n = args.events

    base = Settings()
    ensure_stack(base)
    tag = uuid.uuid4().hex[:8]
    settings = base.with_part(
        topic_namespace=f"bench{tag}.", ingest={"consumer_group": f"bench-{tag}"}
    )
    #: end-to-end runs: the defaults (kept), the previous write statement, a larger batch.
    variants: dict[str, dict[str, Any]] = {
        "copy": {"write_method": "copy"},
        "unnest": {"write_method": "unnest"},
        "copy_batch5000": {"write_method": "copy", "batch_max_records": 5000},
        "workers2": {"write_method": "copy", "workers": 2},
        "unchunked": {"write_method": "copy", "pipeline_chunk_records": 0},
    }
    ingest_dbs = {label: f"ls_bench_ingest_{label}_{tag}" for label in variants}
    copy_db, binary_db = f"ls_bench_copy_{tag}", f"ls_bench_binary_{tag}"
    ingested: dict[str, dict[str, Any]] = {}
    try:
        console.print(f"generating {n:,} events")
        messages = generate(n)
        levers = messages[: args.lever_events]
        console.print(f"decode levers on {len(levers):,} events")
        decoding = decode_levers(levers)
        console.print(f"write levers on {len(levers):,} events")
        writing = write_levers(base, levers, tag)
        produce_s = produce(settings, messages)
        console.print(f"produced in {produce_s:.1f}s; the Kafka clients alone")
        clients = kafka_client_levers(settings, n)
        console.print("ingesting")
        for label, overrides in variants.items():
            run = fresh_database(settings, ingest_dbs[label]).with_part(ingest={
                **overrides, "consumer_group": f"bench-{tag}-{label}"})
            ingested[label] = ingest(run, n)
            console.print(f"ingest ({label}): {ingested[label]['events_per_s']:,.0f} events/s")
            if label == "copy":
                source = run
        console.print("COPY baselines")
        baseline = copy_baseline(source, fresh_database(base, copy_db))
        binary = copy_baseline(source, fresh_database(base, binary_db), "binary")
    finally:
        for name in [*ingest_dbs.values(), copy_db, binary_db]:
            drop_database(base, name)
        with contextlib.suppress(Exception):  # topics never created if it failed early
            drop_topics(settings)
    for which, figures in ingested.items():
        if figures["inserted"] != n:
            raise SystemExit(f"ingest ({which}) inserted {figures['inserted']} of {n}")
    peer_figures = None
    if args.peer is not None:
        console.print("JDBC sink peer")
        peer_figures = peer(args.peer, n)

    kept = ingested["copy"]
    result = {
        "events": n,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                 capture_output=True, text=True, check=False).stdout.strip(),
        "produce": {"seconds": produce_s, "events_per_s": n / produce_s},
        "ingest": kept,
        "ingest_unnest": ingested["unnest"],
        "ingest_batch5000": ingested["copy_batch5000"],
        "ingest_workers2": ingested["workers2"],
        "ingest_unchunked": ingested["unchunked"],
        "kafka_client_levers": clients,
        "copy_baseline": baseline,
        "copy_binary_baseline": binary,
        "ratio_ingest_to_copy": kept["events_per_s"] / baseline["rows_per_s"],
        "ratio_ingest_to_copy_binary": kept["events_per_s"] / binary["rows_per_s"],
        "decode_levers": decoding,
        "write_levers": writing,
        "lever_events": len(levers),
        "peer_jdbc_sink": peer_figures,
    }
    Console().print(publish("ingest", result, render(result, args.peer is not None)))


def render(result: dict[str, Any], with_peer: bool) -> str:
    n = result["events"]
    kept, unnest = result["ingest"], result["ingest_unnest"]
    baseline, binary = result["copy_baseline"], result["copy_binary_baseline"]
    peer_flag = " --peer ../shared/peers/jdbc_sink" if with_peer else ""
    md = (
        f"# Ingest benchmark ({n:,} events)\n\n"
        f"Command: `python -m bench.ingest --events {n}{peer_flag}` ({result['measured_at']}, "
        f"commit `{result.get('commit') or '?'}`, {result['machine']['cpus']} CPUs shared)\n\n"
        "| stage | rate | notes |\n| --- | --- | --- |\n"
        f"| produce (Emitter settings, acks=all, idempotent) | "
        f"{result['produce']['events_per_s']:,.0f} events/s | "
        f"{result['produce']['seconds']:.1f} s |\n"
        f"| ingest (`learnstream ingest`, steady state) | {kept['events_per_s']:,.0f} "
        f"events/s | COPY BINARY via staging; {kept['batches']} batches, peak RSS "
        f"{kept['peak_rss_mb']:.0f} MB |\n"
        f"| ingest incl. startup and 3 s idle wait | "
        f"{kept['events_per_s_incl_startup']:,.0f} events/s | {kept['wall_s']:.1f} s |\n"
        f"| ingest with `LEARNSTREAM_INGEST__WRITE_METHOD=unnest`, steady | "
        f"{unnest['events_per_s']:,.0f} events/s | the previous write statement |\n"
        f"| ingest with `LEARNSTREAM_INGEST__BATCH_MAX_RECORDS=5000`, steady | "
        f"{result['ingest_batch5000']['events_per_s']:,.0f} events/s | "
        f"{result['ingest_batch5000']['batches']} batches |\n"
        f"| ingest with `LEARNSTREAM_INGEST__PIPELINE_CHUNK_RECORDS=0` (a batch decoded "
        f"whole, then written), steady | {result['ingest_unchunked']['events_per_s']:,.0f} "
        f"events/s | {result['ingest_unchunked']['batches']} batches |\n"
        f"| ingest with `--workers 2`, steady | "
        f"{result['ingest_workers2']['events_per_s']:,.0f} events/s | two processes, peak "
        f"RSS of the parent {result['ingest_workers2']['peak_rss_mb']:.0f} MB |\n"
        f"| baseline: plain COPY (text) of the same rows | {baseline['rows_per_s']:,.0f} "
        f"rows/s | {baseline['seconds']:.1f} s |\n"
        f"| baseline: COPY BINARY of the same rows | {binary['rows_per_s']:,.0f} rows/s | "
        f"{binary['seconds']:.1f} s |\n\n"
        f"Ingest runs at **{result['ratio_ingest_to_copy_binary']:.2f}x** a COPY BINARY of "
        f"the same rows into the same tables ({result['ratio_ingest_to_copy']:.2f}x a text "
        "COPY).\n"
    )
    peer_figures = result.get("peer_jdbc_sink")
    if peer_figures:
        md += (
            "\n## The JDBC sink peer (Kafka Connect + Debezium JDBC sink), same run\n\n"
            "| | rate | notes |\n| --- | --- | --- |\n"
            f"| JDBC sink, from Connect start | {peer_figures['events_per_s']:,} events/s | "
            "its own broker and PostgreSQL 15, a 7-column table with one index |\n"
            f"| JDBC sink, steady | {peer_figures['steady_events_per_s'] or 0:,} events/s | "
            "first row to last |\n"
            f"| COPY BINARY into the peer's table | "
            f"{peer_figures['copy_binary_rows_per_s']:,} rows/s | its own baseline |\n\n"
            f"Ingest (steady) / JDBC sink (steady): **"
            f"{kept['events_per_s'] / (peer_figures['steady_events_per_s'] or 1):.2f}x**; "
            f"from start: {kept['events_per_s_incl_startup'] / peer_figures['events_per_s']:.2f}x"
            ". Each against its own COPY BINARY: ingest "
            f"{result['ratio_ingest_to_copy_binary']:.2f}x, the sink "
            f"{1 / peer_figures['ratio_copy_binary_to_sink']:.2f}x.\n"
        )
    per_event_us = 1e6 / kept["events_per_s"]
    md += (
        "\n## The Kafka client alone, same messages, same run\n\n"
        f"Ingest spends {per_event_us:.1f} us per event (steady). A client's share is its "
        "own us/event:\n\n| client | events/s | us/event | share of ingest's time |\n"
        "| --- | ---: | ---: | ---: |\n"
        + "".join(f"| {c['client']} | {c['events_per_s']:,.0f} | {c['us_per_event']:.2f} | "
                  f"{c['us_per_event'] / per_event_us:.0%} |\n"
                  for c in result["kafka_client_levers"])
    )
    md += (
        f"\n## Levers, in process on the first {result['lever_events']:,} events\n\n"
        "| decoder | events/s | us/event |\n| --- | ---: | ---: |\n"
        + "".join(f"| {d['decoder']} | {d['events_per_s']:,.0f} | {d['us_per_event']:.2f} |\n"
                  for d in result["decode_levers"])
        + "\n| write | log indexes | batch | events/s |\n| --- | --- | ---: | ---: |\n"
        + "".join(f"| {w['method']} | {w['indexes']} | {w['batch']:,} | "
                  f"{w['events_per_s']:,.0f} |\n" for w in result["write_levers"])
    )
    return md


if __name__ == "__main__":
    main()
