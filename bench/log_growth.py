"""Cost as the log grows: the append rate of ingest with 0, 10M, 50M rows already in the log.

    python -m bench.log_growth --sizes 0,10000000,50000000 --events 200000 --uuid7

Every event carries a client-made ``event_id`` that the log's unique B-tree
(``<table>_event_id_key``) checks on each insert. A random (v4) id lands on a random leaf:
once the index outgrows memory, each insert may read a page, and after every checkpoint it
dirties (and logs in full, ``full_page_writes``) a page nobody touched since.

1. One fresh database, migrated to head. ``log.behavioral_events`` (the playback family, most
   of the traffic) is filled server-side, in chunks of ``--chunk`` rows per ``INSERT ...
   SELECT ... FROM generate_series``, as ``learnstream_ingest``, up to each size in turn:
   random v4 event ids, increasing ``occurred_at``, 200k learners in sessions of 40 events
   (every 20th session anonymous), 20k contents, a unique Kafka source per row, and an
   empty payload (the indexed columns are realistic, the heap is small). Then ``VACUUM
   (ANALYZE)`` and ``CHECKPOINT``, so each size starts from the same state.
2. At each size, the same ``--events`` fresh events (bench.ingest's mix of every family,
   60% playback), each measurement with its own new ids, into the grown log and, in the
   same minutes, into a fresh empty one (the cores are shared: the grown / empty ratio is
   the figure, not the rates):
   - ``learnstream ingest --until-idle 3`` as a child process into each, from one private
     topic namespace (a consumer group each); the steady rate from its batch logs
     (bench.ingest);
   - the write path alone, in this process: ``append_batch`` on the decoded events per
     topic in batches of the ingest batch size, on a connection with ingest's role; the
     rate of all events and of the behavioral ones (the table that grew), ``--rounds``
     pairs in alternating order (the fastest run of each log kept, the median ratio).
   - With ``--uuid7``, at the largest size: both again with time-ordered (v7) ids.
3. Sizes of the table and of each of its indexes, against shared_buffers and RAM, and the
   cluster's WAL written during each write-path run (other databases' activity included).

Writes bench/results/log_growth.json and log_growth.md (after every size, so a run stopped
on time keeps what it measured). The databases and topics are removed after, also on failure
or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shlex
import shutil
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from bench.ingest import drop_database, fresh_database, generate, ingest, produce
from bench.publish import publish
from devstack import ensure_stack
from ingest.appender import append_batch
from ingest.rows import SourceOffset
from learnstream.contracts import Envelope, Topic, decode_event
from learnstream.db import libpq_url, set_role
from learnstream.settings import Settings
from testing.ingest import drop_topics

console = Console(stderr=True)

#: The log table that grows (playback events are most of the traffic).
TABLE = "behavioral_events"

#: Filler rows, ``%(start)s <= g < %(stop)s``: only the columns an index covers vary.
PRELOAD = """
INSERT INTO log.behavioral_events (
    event_id, event_type, schema_version, occurred_at, session_id, learner_id, content_id,
    payload, kafka_topic, kafka_partition, kafka_offset, playback_position,
    content_characteristics)
SELECT gen_random_uuid(), 'playback.heartbeat', 1,
       timestamptz '2020-01-01 00:00:00+00' + g * interval '2 seconds',
       'preload-s-' || (g / 40),
       CASE WHEN (g / 40) %% 20 = 0 THEN NULL ELSE 'preload-learner-' || ((g / 40) %% 200000) END,
       'preload-content-' || (g %% 20000),
       '{}'::jsonb, 'preload.behavior', (g %% 12)::integer, g / 12, 0, '{}'::jsonb
FROM generate_series(%(start)s::bigint, %(stop)s::bigint - 1) AS g
"""

INDEX_SIZES = """
SELECT c.relname, pg_relation_size(c.oid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'log.behavioral_events'::regclass
ORDER BY c.relname
"""
TABLE_SIZE = "SELECT pg_relation_size('log.behavioral_events')"
ROW_COUNT = "SELECT count(*) FROM log.behavioral_events"
SHARED_BUFFERS = (
    "SELECT setting::bigint * current_setting('block_size')::bigint "
    "FROM pg_settings WHERE name = 'shared_buffers'"
)
WAL_LSN = "SELECT pg_current_wal_lsn()"
WAL_SINCE = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)::bigint"
DATA_DIRECTORY = "SELECT current_setting('data_directory')"

#: A conservative guess of the disk one filler row takes (heap, five indexes, WAL slack),
#: for the check before the first chunk; later checks use the measured figure.
GUESS_BYTES_PER_ROW = 450
#: The preload may use at most this share of the free disk.
DISK_SHARE = 0.6

_SUFFIX = {"k": 1_000, "m": 1_000_000}


def parse_sizes(text: str) -> list[int]:
    """``"0,10M,50000000"`` -> ``[0, 10000000, 50000000]``: sorted, distinct, not negative."""
    sizes: set[int] = set()
    for part in text.split(","):
        item = part.strip().lower()
        factor = _SUFFIX.get(item[-1:], 1)
        digits = item[:-1] if factor != 1 else item
        if not digits.isdigit():
            raise argparse.ArgumentTypeError(
                f"--sizes: {part.strip()!r} is not a row count (e.g. 0,10M,50000000)")
        sizes.add(int(digits) * factor)
    return sorted(sizes)


def uuid7(at: datetime, rng: random.Random) -> uuid.UUID:
    """A version-7 UUID (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids
    made later sort later."""
    millis = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    rand_a, rand_b = rng.getrandbits(12), rng.getrandbits(62)
    return uuid.UUID(int=(millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)


def with_new_ids(
    messages: Sequence[tuple[str, bytes, bytes]], kind: str, rng: random.Random
) -> list[tuple[str, bytes, bytes]]:
    """The same messages with new event ids: random (``v4``) or from each event's
    ``occurred_at`` (``v7``, as a client stamping ids when it emits)."""
    out = []
    for topic, key, value in messages:
        wire = orjson.loads(value)
        if kind == "v7":
            fresh = uuid7(datetime.fromisoformat(wire["occurred_at"]), rng)
        else:
            fresh = uuid.UUID(int=rng.getrandbits(128), version=4)
        wire["event_id"] = str(fresh)
        out.append((topic, key, orjson.dumps(wire)))
    return out


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.completed:,}/{task.total:,} rows"), TimeRemainingColumn(),
                    console=console, transient=True)


def free_bytes(conn: psycopg.Connection[Any]) -> tuple[str, int]:
    """The filesystem the server writes to (its data directory when it is on this machine)."""
    row = conn.execute(DATA_DIRECTORY).fetchone()
    path = Path(row[0]) if row else Path("/")
    where = path if path.exists() else Path("/")
    return str(where), shutil.disk_usage(where).free


def preload(conn: psycopg.Connection[Any], start: int, stop: int, chunk: int, role: str,
            bytes_per_row: float) -> dict[str, Any]:
    """Append filler rows ``start..stop-1`` as ``role``; their seconds and rate."""
    where, free = free_bytes(conn)
    needed = (stop - start) * bytes_per_row
    if needed > DISK_SHARE * free:
        raise SystemExit(f"preload to {stop:,} rows needs ~{needed / 1e9:.0f} GB, "
                         f"{where} has {free / 1e9:.0f} GB free: choose smaller --sizes")
    set_role(conn, role, "LEARNSTREAM_INGEST__DB_ROLE")
    began = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("filler rows", total=stop - start)
        for at in range(start, stop, chunk):
            conn.execute(PRELOAD, {"start": at, "stop": min(at + chunk, stop)})
            conn.commit()
            done = min(at + chunk, stop) - start
            progress.update(task, completed=done)
            if not console.is_terminal:  # a log file gets a line per chunk instead of a bar
                console.print(f"filler {done:,}/{stop - start:,} rows, "
                              f"{done / (time.perf_counter() - began):,.0f} rows/s")
    seconds = time.perf_counter() - began
    conn.execute("RESET ROLE")
    conn.commit()
    return {"rows": stop - start, "seconds": seconds,
            "rows_per_s": (stop - start) / seconds if stop > start else 0.0}


def settle(admin: psycopg.Connection[Any]) -> None:
    """The same starting state at every size: visibility map set, statistics fresh, no
    dirty pages left from the preload (autocommit: VACUUM refuses a transaction)."""
    admin.execute(f"VACUUM (ANALYZE) log.{TABLE}")
    admin.execute("CHECKPOINT")


def sizes_of(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    indexes = {name: size for name, size in conn.execute(INDEX_SIZES).fetchall()}
    table = conn.execute(TABLE_SIZE).fetchone()
    rows = conn.execute(ROW_COUNT).fetchone()
    conn.commit()
    return {"rows": rows[0] if rows else 0, "table_bytes": table[0] if table else 0,
            "index_bytes": indexes, "indexes_total_bytes": sum(indexes.values())}


def write_path(db: Settings, messages: Sequence[tuple[str, bytes, bytes]]) -> dict[str, Any]:
    """``append_batch`` alone over ``messages``, per topic in ingest-sized batches, with the
    ingest role and write method; events/s of all and of the behavioral ones."""
    by_topic: dict[Topic, list[tuple[Envelope, SourceOffset]]] = {}
    for i, (topic, _, value) in enumerate(messages):
        event = decode_event(value, topic=Topic(topic))
        by_topic.setdefault(event.topic, []).append((event, SourceOffset(topic, 0, i)))
    size, method = db.ingest.batch_max_records, db.ingest.write_method
    seconds: dict[Topic, float] = {}
    inserted = 0
    with psycopg.connect(libpq_url(db.resolved_database_url)) as conn:
        start_lsn = conn.execute(WAL_LSN).fetchone()
        conn.commit()
        set_role(conn, db.ingest.db_role, "LEARNSTREAM_INGEST__DB_ROLE")
        for topic, events in by_topic.items():
            seconds[topic] = 0.0
            for at in range(0, len(events), size):
                began = time.perf_counter()
                inserted += append_batch(conn, events[at:at + size], method=method).inserted
                seconds[topic] += time.perf_counter() - began
        wal = conn.execute(WAL_SINCE, (start_lsn[0] if start_lsn else "0/0",)).fetchone()
        conn.commit()
    if inserted != len(messages):
        raise SystemExit(f"write path inserted {inserted} of {len(messages)}")
    behavioral = len(by_topic.get(Topic.BEHAVIOR, []))
    total = sum(seconds.values())
    return {"events": len(messages), "seconds": total, "events_per_s": len(messages) / total,
            "behavioral_events": behavioral,
            "behavioral_events_per_s": behavioral / seconds.get(Topic.BEHAVIOR, 1e-9),
            "wal_bytes": wal[0] if wal else 0,
            "wal_bytes_per_event": (wal[0] if wal else 0) / len(messages),
            "batch": size, "method": method}


def _ingest(run: Settings, n: int, label: str) -> dict[str, Any]:
    figures = ingest(run, n)
    if figures["inserted"] != n:
        raise SystemExit(f"{label}: ingest inserted {figures['inserted']} of {n}")
    console.print(f"{label}: ingest {figures['events_per_s']:,.0f} events/s")
    return figures


def measure(db: Settings, empty: Settings, messages: list[tuple[str, bytes, bytes]],
            label: str, tag: str, rng: random.Random, ids: str, rounds: int,
            namespaces: list[Settings]) -> dict[str, Any]:
    """At the log's current size, against a fresh empty log in the same minutes (the cores
    are shared: only a ratio of runs made side by side means anything). Ingest (a child
    process) into each from one produced topic (a consumer group each), then the write path
    alone ``rounds`` times into each, in alternating order; every round has new ids."""
    load_before = os.getloadavg()[0]
    run = db.with_part(topic_namespace=f"bench{tag}{label}.",
                       ingest={"consumer_group": f"bench-{tag}-{label}"})
    namespaces.append(run)
    produced = with_new_ids(messages, ids, rng)
    produce(run, produced)
    console.print(f"{label}: produced {len(produced):,} events")
    ingested = _ingest(run, len(produced), f"{label} grown")
    ingested_empty = _ingest(empty.with_part(
        topic_namespace=run.topic_namespace,
        ingest={"consumer_group": f"bench-{tag}-{label}-empty"}), len(produced), f"{label} empty")
    grown_runs: list[dict[str, Any]] = []
    empty_runs: list[dict[str, Any]] = []
    pairs = [(db, grown_runs), (empty, empty_runs)]
    for round_ in range(rounds):
        fresh = with_new_ids(messages, ids, rng)
        # Alternating which log goes first: the second of a pair runs on a warmer machine.
        for target, runs in pairs if round_ % 2 == 0 else pairs[::-1]:
            runs.append(write_path(target, fresh))
        console.print(f"{label}: write path, behavioral, grown "
                      f"{grown_runs[-1]['behavioral_events_per_s']:,.0f} events/s, empty "
                      f"{empty_runs[-1]['behavioral_events_per_s']:,.0f}")
    ratios = sorted(g["behavioral_events_per_s"] / e["behavioral_events_per_s"]
                    for g, e in zip(grown_runs, empty_runs, strict=True))

    def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
        return max(runs, key=lambda run: run["behavioral_events_per_s"])

    return {"ids": ids, "ingest": ingested, "ingest_empty": ingested_empty,
            "ingest_ratio": ingested["events_per_s"] / ingested_empty["events_per_s"],
            "write_path": best(grown_runs), "write_path_empty": best(empty_runs),
            "write_path_rounds": [r["behavioral_events_per_s"] for r in grown_runs],
            "write_path_empty_rounds": [r["behavioral_events_per_s"] for r in empty_runs],
            "write_ratio": ratios[len(ratios) // 2],
            "load_average": [load_before, os.getloadavg()[0]]}


def _fresh_empty(base: Settings, name: str) -> Settings:
    """The baseline of one size: a log with nothing in it (the last size's one dropped)."""
    drop_database(base, name)
    return fresh_database(base, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("0,10M,50M"),
                        help="Rows already in log.behavioral_events at each measurement.")
    parser.add_argument("--events", type=int, default=200_000,
                        help="Fresh events appended at each size (each path).")
    parser.add_argument("--chunk", type=int, default=1_000_000,
                        help="Filler rows per INSERT ... SELECT statement.")
    parser.add_argument("--rounds", type=int, default=3,
                        help="Write-path runs at each size (the fastest is kept).")
    parser.add_argument("--uuid7", action="store_true",
                        help="At the largest size, measure again with time-ordered ids.")
    args = parser.parse_args()
    command = shlex.join(["python", "-m", "bench.log_growth", *sys.argv[1:]])
    # A stopped run must still drop its database (tens of GB) and topics: SIGTERM unwinds
    # through the finally below like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("log_growth: terminated"))

    base = Settings()
    ensure_stack(base)
    tag = uuid.uuid4().hex[:8]
    name, empty_name = f"ls_bench_growth_{tag}", f"ls_bench_growth_{tag}_empty"
    rng = random.Random(11)
    messages = generate(args.events)
    namespaces: list[Settings] = []
    steps: list[dict[str, Any]] = []
    alternative: dict[str, Any] | None = None
    with psycopg.connect(libpq_url(base.resolved_database_url)) as probe:
        where, free_before = free_bytes(probe)
        shared_buffers = (probe.execute(SHARED_BUFFERS).fetchone() or (0,))[0]

    def save(complete: bool) -> str:
        """The figures so far (after every size: a run stopped on time keeps what it has)."""
        result = {
            "command": command,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "ram_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
                        "shared_buffers_bytes": shared_buffers,
                        "disk": where, "disk_free_bytes_before": free_before},
            "events": args.events,
            "sizes": args.sizes,
            "complete": complete,
            "steps": steps,
            "uuid7_at_largest": alternative,
        }
        return publish("log_growth", result, render(result))

    try:
        db = fresh_database(base, name)
        url = libpq_url(db.resolved_database_url)
        with psycopg.connect(url) as conn, psycopg.connect(url, autocommit=True) as admin:
            # ``filler``: the next generate_series value; ``rows``: rows in the table, the
            # fresh events of earlier sizes included (the filler tops them up to each size).
            filler, rows, bytes_per_row = 0, 0, float(GUESS_BYTES_PER_ROW)
            for size in args.sizes:
                filled = None
                if size > rows:
                    filled = preload(conn, filler, filler + size - rows, args.chunk,
                                     db.ingest.db_role, bytes_per_row)
                    filler += size - rows
                empty = _fresh_empty(base, empty_name)
                settle(admin)
                before = sizes_of(conn)
                if before["rows"]:
                    bytes_per_row = max(bytes_per_row, (before["table_bytes"] + before[
                        "indexes_total_bytes"]) / before["rows"] * 1.5)
                console.print(f"log at {before['rows']:,} rows: indexes "
                              f"{before['indexes_total_bytes'] / 2**20:,.0f} MiB")
                figures = measure(db, empty, messages, f"s{size}", tag, rng, "v4",
                                  args.rounds, namespaces)
                steps.append({"size": size, "preload": filled, "before": before, **figures})
                save(complete=False)
                rows = sizes_of(conn)["rows"]
            if args.uuid7:
                empty = _fresh_empty(base, empty_name)
                settle(admin)
                before = sizes_of(conn)
                alternative = {"size": args.sizes[-1], "before": before, **measure(
                    db, empty, messages, "v7", tag, rng, "v7", args.rounds, namespaces)}
    finally:
        drop_database(base, name)
        drop_database(base, empty_name)
        for run in namespaces:
            drop_topics(run)
    Console().print(save(complete=True))



def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def _rows(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n:,}"


def render(result: dict[str, Any]) -> str:
    machine, steps = result["machine"], result["steps"]
    first = steps[0]
    ram, buffers = machine["ram_bytes"], machine["shared_buffers_bytes"]
    md = (
        f"# Append rate as the log grows ({result['events']:,} fresh events per size)\n\n"
        f"Command: `{result['command']}` ({result['measured_at']}, {machine['cpus']} CPUs "
        f"shared, {ram / 2**30:.0f} GiB RAM, shared_buffers {_mib(buffers)})\n\n"
        f"Each size: `log.{TABLE}` holds that many rows (random v4 event ids) and the same "
        "fresh events are appended to it and, in the same minutes, to a fresh empty log; "
        "*ratio* is grown / empty.\n\n"
        "| rows in log | fresh ids | event_id index | all its indexes | indexes / "
        "shared_buffers | ingest, steady: grown | empty | ratio | write path, behavioral: "
        "grown | empty | ratio | write path's share of ingest | WAL per event: grown | "
        "empty | load average |\n"
        "|" + " ---: |" * 15 + "\n"
    )
    rows = [*steps, *([result["uuid7_at_largest"]] if result.get("uuid7_at_largest") else [])]
    for step in rows:
        before, written, ingested = step["before"], step["write_path"], step["ingest"]
        event_id = before["index_bytes"].get(f"{TABLE}_event_id_key", 0)
        total = before["indexes_total_bytes"]
        md += (
            f"| {_rows(step['size'])} | {step['ids']} | {_mib(event_id)} | {_mib(total)} | "
            f"{total / buffers:.2f}x | {ingested['events_per_s']:,.0f} /s | "
            f"{step['ingest_empty']['events_per_s']:,.0f} /s | **{step['ingest_ratio']:.2f}** | "
            f"{written['behavioral_events_per_s']:,.0f} /s | "
            f"{step['write_path_empty']['behavioral_events_per_s']:,.0f} /s | "
            f"**{step['write_ratio']:.2f}** | "
            f"{ingested['events_per_s'] / written['events_per_s']:.0%} | "
            f"{written['wal_bytes_per_event'] / 1024:.1f} KiB | "
            f"{step['write_path_empty']['wal_bytes_per_event'] / 1024:.1f} KiB | "
            f"{step['load_average'][0]:.1f}-{step['load_average'][1]:.1f} |\n"
        )
    md += (
        "\n*ingest, steady*: `learnstream ingest --until-idle 3`, first batch to last, all "
        "event families (60% behavioral). *write path*: `append_batch` alone on the decoded "
        f"events ({first['write_path']['method']}, batches of "
        f"{first['write_path']['batch']:,}, ingest's role), the rate of the behavioral events "
        f"(the table that grew), the fastest of {len(first['write_path_rounds'])} runs each; "
        "its ratio is the median of the runs' pairs. *share*: the part of ingest's time per "
        "event spent in the write path (write path rate over ingest rate, all events). *WAL "
        "per event*: the cluster's WAL during a write-path run over its events (other "
        "databases' writes included). *load average*: the machine's 1-minute load before and "
        "after the size's runs (2 cores shared with other work).\n\n"
        "| rows in log | table | " + " | ".join(
            name.removeprefix(f"{TABLE}_") for name in sorted(first["before"]["index_bytes"]))
        + " | filled in |\n|" + " ---: |" * (len(first["before"]["index_bytes"]) + 3) + "\n"
    )
    for step in steps:
        before, filled = step["before"], step["preload"]
        md += (f"| {_rows(step['size'])} | {_mib(before['table_bytes'])} | " + " | ".join(
            _mib(before["index_bytes"][name]) for name in sorted(before["index_bytes"]))
            + (f" | {filled['seconds']:,.0f} s ({filled['rows_per_s']:,.0f} rows/s) |\n"
               if filled else " | |\n"))
    md += f"\nRAM {ram / 2**30:.1f} GiB; shared_buffers {_mib(buffers)}.\n"
    if not result.get("complete", True):
        md += ("\n**Partial**: the run stopped before its last size; the rows above are the "
               "sizes it finished.\n")
    return md


if __name__ == "__main__":
    main()
