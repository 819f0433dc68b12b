"""Ingest under faults: no loss, no duplicates, every refused message a dead letter.

    python -m bench.ingest_faults --events 1000000

Runs on a private broker and PostgreSQL (``testing.private_stack``: free ports, a temporary
folder, removed after), never on the shared local stack, because it kills both. One
``learnstream ingest`` child process (static member ``faults-a``) consumes a stream of valid
events with refused messages mixed in (one in ``--refused-every``, every kind of the hostile
corpus but the empty message, each made unique). The stream is cut into one round per
fault; in each round the first half is produced, the fault lands once the log holds a
quarter of the round (so ingest is mid-stream), the second half is produced during or after
it, and the round ends when the log has caught up. The faults, in order:

1-3. the ingest process is SIGKILLed and started again (three times);
4.   the broker is SIGKILLed, held down for ``--outage`` seconds, and restarted;
5.   PostgreSQL gets ``pg_ctl stop -m immediate``, held down, and restarted (WAL recovery);
6.   a second ingest process (``faults-b``) joins the group mid-stream, takes partitions,
     commits, and leaves (SIGTERM) while the stream goes on.

After each round the whole log is read back: the set of event_ids equals the set sent
(``lost``: sent, not in the log; ``unexpected``: in the log, never sent), no event_id is in
it twice (``duplicated``), and each refused message is exactly one dead letter with the
reason the corpus expects. ``recovery_s`` is the time from the repair (restart issued; in
round 6 the second worker's exit) to the first row appended after it, ``caught_up_s`` to
the log holding every event sent so far. The producer (the Emitter's settings) resends
what the broker did not acknowledge; resends carry the same event_id.

Writes bench/results/ingest_faults.{json,md}; exits 1 if any round lost, duplicated or
mis-filed anything. ``tests/integration/test_ingest_faults.py`` runs the same rounds on a
small stream in the normal suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
import psycopg
from kafka import KafkaProducer
from kafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.ingest import generate
from bench.publish import publish
from devstack.process import is_alive
from ingest.emitter import PRODUCER_DEFAULTS
from ingest.topics import ensure_topics
from learnstream.db import connect
from learnstream.log import LOG_TABLES
from learnstream.settings import Settings
from testing.ingest import start_ingest_process
from testing.private_stack import PrivateStack, private_stack
from tests.examples import hostile_corpus

console = Console(stderr=True)

FAULTS = (
    "ingest SIGKILL #1",
    "ingest SIGKILL #2",
    "ingest SIGKILL #3",
    "broker SIGKILL, restart",
    "PostgreSQL stop -m immediate, restart",
    "second ingest joins, then leaves",
)
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: How long a round may go without the log growing, once everything was produced.
_STUCK_SECONDS = 45.0
_POLL_SECONDS = 0.05
_COUNT_INTERVAL = 0.5

Message = tuple[str, bytes | None, bytes]  # physical topic, key, value


class FaultRunError(Exception):
    """The run could not go on (a child exited, a server did not come back)."""


@dataclass
class Round:
    """What one fault did to the log."""

    fault: str
    events: int  # valid events sent so far, all rounds
    refused: int  # refused messages sent so far
    lost: int
    duplicated: int
    unexpected: int
    dead_letters_missing: int  # refused messages without their dead letter
    dead_letters_wrong: int  # dead letters with another reason, or never sent, or repeated
    resent: int  # messages the producer sent again (not acknowledged the first time)
    restart_s: float  # the restart itself (a server until it answers; 0 for a process)
    recovery_s: float | None  # repair -> first row appended after it
    caught_up_s: float  # repair -> every event sent so far in the log
    round_s: float
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.unexpected
                    or self.dead_letters_missing or self.dead_letters_wrong)


@dataclass
class Expected:
    """Everything sent so far: the valid events' ids, the refused messages and their reasons."""

    event_ids: set[str] = field(default_factory=set)
    refused: dict[bytes, str] = field(default_factory=dict)  # raw -> expected reason
    sends: Counter[bytes] = field(default_factory=Counter)  # refused raw -> times sent


# --- the stream ------------------------------------------------------------------------


def refused_messages(settings: Settings) -> Iterator[tuple[Message, str]]:
    """The hostile corpus round and round, each message unique (raws are compared)."""
    corpus = [entry for entry in hostile_corpus() if entry[2]]  # "" cannot be made unique
    serial = 0
    while True:
        for _name, topic, raw, reason in corpus:
            serial += 1
            if _UUID.search(raw):
                unique = _UUID.sub(lambda _: str(uuid.uuid4()).encode(), raw)
            elif raw.startswith(b"{"):
                unique = raw.replace(b'"1"', f'"{serial}"'.encode())
            elif raw.startswith(b"["):
                unique = raw.replace(b"]", f", {serial}]".encode())
            else:
                unique = raw + str(serial).encode()
            yield (settings.topic(topic), b"refused", unique), reason


def stream(events: int, refused_every: int, hostile: Iterator[tuple[Message, str]],
           settings: Settings) -> tuple[list[Message], dict[bytes, str]]:
    """``events`` valid events with a refused message (drawn from ``hostile``) after every
    ``refused_every``, and the reason each refused one must be dead-lettered with."""
    out: list[Message] = []
    reasons: dict[bytes, str] = {}
    for i, (topic, key, value) in enumerate(generate(events), start=1):
        out.append((settings.topic(topic), key, value))
        if refused_every and i % refused_every == 0:
            message, reason = next(hostile)
            out.append(message)
            reasons[message[2]] = reason
    return out, reasons


class Producer(threading.Thread):
    """Sends a round's phases in order, each after its gate opens; resends what failed."""

    def __init__(self, settings: Settings, phases: list[list[Message]]) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.phases = phases
        self.gates = [threading.Event() for _ in phases[1:]]
        self.sends: Counter[bytes] = Counter()
        self.resent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for i, phase in enumerate(self.phases):
                if i:
                    self.gates[i - 1].wait()
                self._send_all(phase)
        except BaseException as error:  # reported by the caller, not lost in the thread
            self.error = error

    def _send_all(self, messages: list[Message]) -> None:
        pending = messages
        deadline = time.monotonic() + 600
        while pending:
            if time.monotonic() > deadline:
                raise FaultRunError(f"{len(pending)} messages never acknowledged")
            failed: list[Message] = []
            try:
                producer = KafkaProducer(
                    bootstrap_servers=self.settings.resolved_kafka_bootstrap,
                    **{**PRODUCER_DEFAULTS, "reconnect_backoff_max_ms": 1000},
                )
            except KafkaError:
                time.sleep(0.5)  # the broker is down: wait for it
                continue
            try:
                for message in pending:
                    self._send(producer, message, failed)
                producer.flush()
            finally:
                producer.close()
            self.resent += len(failed)
            pending = failed

    def _send(self, producer: KafkaProducer, message: Message, failed: list[Message]) -> None:
        topic, key, value = message
        if key == b"refused":
            self.sends[value] += 1
        try:
            future = producer.send(topic, value=value, key=key)
        except KafkaError:
            failed.append(message)
            return
        # Runs on the producer's I/O thread; list.append is atomic.
        future.add_errback(lambda _exc: failed.append(message))


# --- reading the log -------------------------------------------------------------------


def _query_one(settings: Settings, query: str) -> int | None:
    """One integer from the log, None while the database is unreachable."""
    try:
        with connect(settings) as conn:
            row = conn.execute(query).fetchone()
    except psycopg.OperationalError:
        return None
    return None if row is None or row[0] is None else int(row[0])


def _sum_over_tables(expression: str) -> str:
    parts = [f"(SELECT {expression} FROM log.{table})" for table in LOG_TABLES.values()]
    return "SELECT " + " + ".join(f"coalesce({p}, 0)" for p in parts)


COUNT_ROWS = _sum_over_tables("count(*)")
#: Rows only ever gain positions (one sequence for the five tables): growth, cheaply.
LAST_POSITION = "SELECT greatest(" + ", ".join(
    f"(SELECT max(position) FROM log.{table})" for table in LOG_TABLES.values()) + ")"
COUNT_DEAD_LETTERS = "SELECT count(*) FROM log.dead_letters"


def logged_ids(settings: Settings) -> Counter[str]:
    ids: Counter[str] = Counter()
    with connect(settings) as conn:
        for table in LOG_TABLES.values():
            cursor = conn.execute(f"SELECT event_id::text FROM log.{table}")
            ids.update(row[0] for row in cursor)
    return ids


def dead_letters(settings: Settings) -> list[tuple[bytes, str]]:
    with connect(settings) as conn:
        return [(bytes(raw), reason) for raw, reason in
                conn.execute("SELECT raw, reason FROM log.dead_letters")]


# --- one run ---------------------------------------------------------------------------


@dataclass
class Worker:
    """One ``learnstream ingest`` child with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    def log_text(self) -> str:
        self.log_file.flush()
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


class FaultRun:
    """The rounds over one private stack; :meth:`run` returns one :class:`Round` per fault."""

    def __init__(self, stack: PrivateStack, events: int, refused_every: int,
                 outage_s: float, progress: Progress | None = None) -> None:
        tag = uuid.uuid4().hex[:8]
        self.stack = stack
        self.settings = stack.settings.with_part(
            topic_namespace=f"faults{tag}.",
            # A short retry cap: the database outage is noticed within a second of its end.
            ingest={"consumer_group": f"faults-{tag}", "instance_id": "faults-a",
                    "retry_max_seconds": 1.0},
        )
        self.events = events
        self.refused_every = refused_every
        self.outage_s = outage_s
        self.progress = progress
        self.expected = Expected()
        self.workers: list[Worker] = []
        self._task: Any = None
        self._spawned = 0

    # workers

    def spawn(self, instance_id: str) -> Worker:
        self._spawned += 1
        path = self.stack.root / f"ingest-{instance_id}-{self._spawned}.log"
        log_file = path.open("wb")
        settings = self.settings.with_part(ingest={"instance_id": instance_id})
        process = start_ingest_process(settings, stdout=log_file, stderr=subprocess.STDOUT)
        worker = Worker(instance_id, process, path, log_file)
        self.workers.append(worker)
        return worker

    def end(self, worker: Worker, sig: signal.Signals) -> int:
        worker.process.send_signal(sig)
        try:
            code = worker.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            code = worker.process.wait()
        worker.log_file.close()
        self.workers.remove(worker)
        return code

    def close(self) -> None:
        for worker in list(self.workers):
            self.end(worker, signal.SIGKILL)

    def _check_alive(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is not None:
                raise FaultRunError(
                    f"ingest {worker.name} exited {worker.process.returncode}:\n{worker.tail()}")

    # waiting

    def _wait(self, condition: Callable[[], bool], timeout: float, what: str,
              interval: float = _POLL_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            self._check_alive()
            if time.monotonic() > deadline:
                raise FaultRunError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(interval)

    def _rows(self) -> int:
        count = _query_one(self.settings, COUNT_ROWS)
        if count is not None and self.progress is not None and self._task is not None:
            self.progress.update(self._task, completed=count)
        return -1 if count is None else count

    def _last_position(self) -> int | None:
        return _query_one(self.settings, LAST_POSITION)

    def _first_growth_after(self, mark: float) -> float | None:
        """Seconds from ``mark`` until the log gains a row (None: it never did)."""
        start = self._last_position()
        while time.monotonic() - mark < _STUCK_SECONDS + 60:
            self._check_alive()
            now = self._last_position()
            if now is not None and (start is None or now > start):
                return time.monotonic() - mark
            if start is None:
                start = now
            time.sleep(_POLL_SECONDS)
        return None

    def _caught_up(self, producer: Producer) -> None:
        """Until the log holds every event sent (or stops growing without doing so)."""
        target = len(self.expected.event_ids)
        dead_target = len(self.expected.refused)
        last_change, last = time.monotonic(), -1
        while True:
            self._check_alive()
            if producer.error is not None:
                raise FaultRunError(f"producer failed: {producer.error!r}")
            rows = self._rows()
            dead = _query_one(self.settings, COUNT_DEAD_LETTERS) or 0
            if not producer.is_alive() and rows >= target and dead >= dead_target:
                return
            if rows != last:
                last_change, last = time.monotonic(), rows
            elif not producer.is_alive() and time.monotonic() - last_change > _STUCK_SECONDS:
                return  # stuck: the check below counts what is missing
            time.sleep(_COUNT_INTERVAL)

    # the run

    def run(self) -> list[Round]:
        ensure_topics(self.settings)
        hostile = refused_messages(self.settings)
        if self.progress is not None:
            self._task = self.progress.add_task("starting", total=self.events)
        self.spawn("faults-a")
        rounds = []
        for number, fault in enumerate(FAULTS):
            # Generated round by round: a million encoded events at once would be ~1 GB.
            size = (self.events * (number + 1) // len(FAULTS)
                    - self.events * number // len(FAULTS))
            chunk, reasons = stream(size, self.refused_every, hostile, self.settings)
            if self.progress is not None:
                self.progress.update(self._task, description=fault)
            rounds.append(self._round(fault, chunk, reasons))
        return rounds

    def _round(self, fault: str, chunk: list[Message], reasons: dict[bytes, str]) -> Round:
        started = time.monotonic()
        base = len(self.expected.event_ids)
        valid = [m for m in chunk if m[1] != b"refused"]
        for _, key, value in chunk:
            if key == b"refused":
                self.expected.refused[value] = reasons[value]
            else:
                self.expected.event_ids.add(orjson.loads(value)["event_id"])
        half = len(chunk) // 2
        rebalance = fault.startswith("second ingest")
        phases = ([chunk[:half], chunk[half:half + len(chunk) // 4], chunk[half + len(chunk) // 4:]]
                  if rebalance else [chunk[:half], chunk[half:]])
        producer = Producer(self.settings, phases)
        producer.start()
        quarter = base + len(valid) // 4
        # Counting a million rows takes a while: poll it gently, it competes with ingest.
        self._wait(lambda: self._rows() >= quarter, 300, f"{quarter} rows before the fault",
                   interval=_COUNT_INTERVAL)
        notes: list[str] = []
        restart_s, recovery_s, repaired = self._fault(fault, producer, notes)
        self._caught_up(producer)
        caught_up_s = time.monotonic() - repaired
        producer.join()
        self.expected.sends.update(producer.sends)
        return self._check(fault, producer.resent, restart_s, recovery_s, caught_up_s,
                           time.monotonic() - started, notes)

    def _fault(self, fault: str, producer: Producer,
               notes: list[str]) -> tuple[float, float | None, float]:
        """Inject ``fault`` and repair it; (restart_s, recovery_s, when the repair began)."""
        if fault.startswith("ingest SIGKILL"):
            worker = next(w for w in self.workers if w.name == "faults-a")
            if self.end(worker, signal.SIGKILL) != -signal.SIGKILL:
                raise FaultRunError("ingest had exited before it could be killed")
            producer.gates[0].set()
            repaired = time.monotonic()
            self.spawn("faults-a")
            return 0.0, self._first_growth_after(repaired), repaired
        if fault.startswith("broker"):
            before = self.stack.kafka_pid()
            self.stack.kill_kafka()
            producer.gates[0].set()  # produced into the outage: the producer retries
            time.sleep(self.outage_s)
            repaired = time.monotonic()
            self.stack.start_kafka()
            restart_s = time.monotonic() - repaired
            _check_replaced("broker", before, self.stack.kafka_pid())
            return restart_s, self._first_growth_after(repaired), repaired
        if fault.startswith("PostgreSQL"):
            before = self.stack.postgres_pid()
            self.stack.stop_postgres_immediate()
            producer.gates[0].set()
            time.sleep(self.outage_s)
            repaired = time.monotonic()
            self.stack.start_postgres()
            restart_s = time.monotonic() - repaired
            _check_replaced("postmaster", before, self.stack.postgres_pid())
            return restart_s, self._first_growth_after(repaired), repaired
        # The rebalance: b joins while the first half is consumed; the next quarter is
        # produced once it is in, b leaves after committing, and the rest follows.
        joiner = self.spawn("faults-b")
        self._wait(lambda: '"ingest started"' in joiner.log_text(), 120, "faults-b to start")
        time.sleep(3.0)  # joining the five groups is a rebalance each: let them settle
        producer.gates[0].set()
        try:
            self._wait(lambda: '"batch committed"' in joiner.log_text(), 60,
                       "faults-b to commit a batch")
        except FaultRunError as error:
            notes.append(f"faults-b took no partition: {error}")
        batches = joiner.log_text().count('"batch committed"')
        code = self.end(joiner, signal.SIGTERM)
        notes.append(f"faults-b committed {batches} batches, exited {code} on SIGTERM")
        if code != 0:
            raise FaultRunError(f"faults-b exited {code} on SIGTERM")
        repaired = time.monotonic()
        producer.gates[1].set()
        return 0.0, self._first_growth_after(repaired), repaired

    def _check(self, fault: str, resent: int, restart_s: float, recovery_s: float | None,
               caught_up_s: float, round_s: float, notes: list[str]) -> Round:
        ids = logged_ids(self.settings)
        logged = set(ids)
        sent = self.expected.event_ids
        found = Counter(dead_letters(self.settings))
        expected_dl = self.expected.refused
        missing = sum(1 for raw, reason in expected_dl.items() if found[(raw, reason)] == 0)
        wrong = sum(count for (raw, reason), count in found.items()
                    if expected_dl.get(raw) != reason)
        # A refused message the producer resent may rightly be two dead letters.
        repeated = sum(max(0, count - max(1, self.expected.sends[raw]))
                       for (raw, reason), count in found.items() if expected_dl.get(raw) == reason)
        return Round(
            fault=fault, events=len(sent), refused=len(expected_dl),
            lost=len(sent - logged), duplicated=sum(c - 1 for c in ids.values() if c > 1),
            unexpected=len(logged - sent), dead_letters_missing=missing,
            dead_letters_wrong=wrong + repeated, resent=resent, restart_s=restart_s,
            recovery_s=recovery_s, caught_up_s=caught_up_s, round_s=round_s, notes=notes,
        )


def _check_replaced(server: str, before: int | None, after: int | None) -> None:
    """A fault that left the old server running would make its round pass for nothing."""
    if before is None or after is None or before == after or is_alive(before):
        raise FaultRunError(f"the {server} was not replaced (pid {before} -> {after})")


def run_faults(events: int, refused_every: int = 500, outage_s: float = 2.0,
               base: Settings | None = None, show_progress: bool = True) -> list[Round]:
    """The whole fault run on a private stack (started and removed here)."""
    columns = (TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with private_stack(base) as stack, Progress(*columns, console=console,
                                                 disable=not show_progress) as progress:
        run = FaultRun(stack, events, refused_every, outage_s, progress)
        try:
            return run.run()
        except FaultRunError as error:
            logs = "".join(f"\n--- ingest {w.name} ---\n{w.tail()}" for w in run.workers)
            raise FaultRunError(f"{error}{logs}") from error
        finally:
            run.close()


# --- report ----------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}"


def markdown(rounds: list[Round], command: str, measured_at: str, wall_s: float) -> str:
    rows = "".join(
        f"| {r.fault} | {r.events:,} | {r.refused:,} | {r.lost} | {r.duplicated} | "
        f"{r.unexpected} | {r.dead_letters_missing} | {r.dead_letters_wrong} | {r.resent} | "
        f"{r.restart_s:.1f} | {_seconds(r.recovery_s)} | {r.caught_up_s:.1f} | "
        f"{'yes' if r.ok else '**NO**'} |\n"
        for r in rounds
    )
    notes = "".join(f"- {r.fault}: {note}\n" for r in rounds for note in r.notes)
    verdict = ("every round: the log holds exactly the events sent, none twice, and every "
               "refused message is one dead letter with its reason" if all(r.ok for r in rounds)
               else "**some rounds lost, duplicated or mis-filed messages (see the table)**")
    return (
        f"# Ingest under faults ({rounds[-1].events:,} events, {rounds[-1].refused:,} refused)\n\n"
        f"Command: `{command}` ({measured_at}, {os.cpu_count()} CPUs shared, "
        f"{wall_s:.0f} s; a private broker and PostgreSQL)\n\n"
        "| fault | events sent | refused sent | lost | duplicated | unexpected "
        "| dead letters missing | dead letters wrong | resent by producer | restart s "
        "| recovery s | caught up s | ok |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| --- |\n" + rows + "\n"
        "Counts are cumulative; each row is checked against the whole log after its fault. "
        "restart: the server's own start until it answers (0 for an ingest process); "
        "recovery: the repair (restart issued; for the rebalance, the second worker's exit) "
        "to the first row appended after it; caught up: the repair to the log holding every "
        "event sent so far.\n\n"
        f"Result: {verdict}.\n" + (f"\n{notes}" if notes else "")
    )


def print_summary(rounds: list[Round]) -> None:
    table = Table(title="ingest under faults")
    for column in ("fault", "events", "lost", "duplicated", "dead letters ok", "recovery s",
                   "caught up s"):
        table.add_column(column, justify="left" if column == "fault" else "right")
    for r in rounds:
        dl_ok = r.dead_letters_missing == 0 and r.dead_letters_wrong == 0
        table.add_row(r.fault, f"{r.events:,}", str(r.lost), str(r.duplicated),
                      "yes" if dl_ok else "NO", _seconds(r.recovery_s), f"{r.caught_up_s:.1f}",
                      style=None if r.ok else "bold red")
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--refused-every", type=int, default=500,
                        help="a refused message after every N valid events")
    parser.add_argument("--outage", type=float, default=2.0,
                        help="seconds the broker and the database stay down")
    args = parser.parse_args()
    if args.events < 4 * len(FAULTS) or args.refused_every < 0 or args.outage < 0:
        raise SystemExit(f"error: --events must be at least {4 * len(FAULTS)}; "
                         "--refused-every and --outage not negative")
    started = time.monotonic()
    try:
        rounds = run_faults(args.events, args.refused_every, args.outage)
    except FaultRunError as error:
        raise SystemExit(f"error: the fault run could not finish: {error}") from None
    wall = time.monotonic() - started
    measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    command = (f"python -m bench.ingest_faults --events {args.events}"
               + (f" --refused-every {args.refused_every}" if args.refused_every != 500 else "")
               + (f" --outage {args.outage:g}" if args.outage != 2.0 else ""))
    result: dict[str, Any] = {
        "command": command, "measured_at": measured_at, "wall_s": wall,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "ok": all(r.ok for r in rounds),
        "rounds": [{**asdict(r), "ok": r.ok} for r in rounds],
    }
    publish("ingest_faults", result, markdown(rounds, command, measured_at, wall))
    print_summary(rounds)
    if not result["ok"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
