"""Collector benchmark: events/s and latency of ``POST /v1/events`` for batches of 1 and of
50 events, for each candidate HTTP server and framework, against a raw Kafka producer of
the same events in the same run. Writes bench/results/collector.{json,md}.

    python -m bench.collector [--seconds 5] [--connections 8]

What runs:

1. the load generator alone, against a null HTTP server (answers every request at once), so
   its own ceiling is known and can be compared with the collector's rates;
2. for each candidate (uvicorn or granian, Starlette or FastAPI), a closed loop of
   ``--connections`` keep-alive connections, batches of 1 and of 50: requests/s, events/s,
   p50/p99 latency (every 2xx is an acknowledgement from Kafka: acks=all, idempotent);
3. the raw producers: aiokafka and confluent-kafka (librdkafka, the collector's own
   configuration), acks=all and idempotence, the same event bytes, as fast as each
   acknowledges (every event queued, then all awaited); the ratios are to the faster;
4. the served candidate (uvicorn + Starlette, ``learnstream collect``) again, after a
   second of warm-up, open loop at half of its maximum rate (its median round), latency
   measured from each request's scheduled time (so a stall is not hidden by the generator
   waiting), over ``--rounds`` windows, the one of median p99 reported with every round's.

The generator, the server, Kafka and PostgreSQL share the machine's cores: read the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httptools
import numpy as np
import psycopg
import uvloop
from psycopg.conninfo import make_conninfo

from bench.publish import publish
from collector.keys import create_key
from learnstream.contracts import encode_event
from learnstream.db import connect, libpq_url, migrate
from learnstream.settings import Settings
from testing.collector import collector_env
from testing.databases import to_url
from tests.examples import example

ROOT = Path(__file__).resolve().parent.parent
DB = "ls_bench_collector"
#: granian is not a dependency: ``pip install granian`` to include it (skipped otherwise).
CANDIDATES = [(server, framework) for server, framework in
              [("uvicorn", "starlette"), ("uvicorn", "fastapi"), ("granian", "starlette")]
              if importlib.util.find_spec(server) is not None]
SERVED = ("uvicorn", "starlette")


# --- the load generator -----------------------------------------------------------------

class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; ``request`` sends and waits for the status."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.done: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(self.parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError("closed"))

    async def request(self, raw: bytes) -> int:
        assert self.transport is not None
        self.done = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self.done


def _requests(port: int, key: str, batch: int, count: int = 64) -> list[bytes]:
    """Distinct ready-made requests of ``batch`` events each (reused round-robin)."""
    out = []
    for _ in range(count):
        body = b"[" + b",".join(encode_event(example("playback.heartbeat",
                                                      learner_id=f"l{i % 500}"))
                                 for i in range(batch)) + b"]"
        head = (f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        out.append(head + body)
    return out


async def _connect(port: int, n: int) -> list[_Connection]:
    loop = asyncio.get_running_loop()
    conns = []
    for _ in range(n):
        _, protocol = await loop.create_connection(_Connection, "127.0.0.1", port)
        conns.append(protocol)
    return conns


async def _closed_loop(port: int, requests: list[bytes], connections: int, seconds: float
                       ) -> dict[str, Any]:
    conns = await _connect(port, connections)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    warm_until = time.perf_counter() + 1.0
    stop_at = warm_until + seconds

    async def worker(conn: _Connection, offset: int) -> None:
        i = offset
        while (now := time.perf_counter()) < stop_at:
            status = await conn.request(requests[i % len(requests)])
            i += connections
            if now >= warm_until:
                latencies.append(time.perf_counter() - now)
                statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(worker(c, k) for k, c in enumerate(conns)))
    for c in conns:
        assert c.transport is not None
        c.transport.close()
    return _summary(latencies, statuses, seconds)


async def _open_loop(port: int, requests: list[bytes], connections: int, rate: float,
                     seconds: float) -> dict[str, Any]:
    conns = await _connect(port, connections)
    free: asyncio.Queue[_Connection] = asyncio.Queue()
    for c in conns:
        free.put_nowait(c)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    tasks = []

    async def one(i: int, scheduled: float) -> None:
        conn = await free.get()
        status = await conn.request(requests[i % len(requests)])
        free.put_nowait(conn)
        latencies.append(time.perf_counter() - scheduled)  # from the schedule, not the send
        statuses[status] = statuses.get(status, 0) + 1

    start = time.perf_counter() + 0.2
    total = int(rate * seconds)
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    for c in conns:
        assert c.transport is not None
        c.transport.close()
    return _summary(latencies, statuses, seconds)


def _summary(latencies: list[float], statuses: dict[int, int], seconds: float
             ) -> dict[str, Any]:
    xs = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(float(np.percentile(xs, 50)), 2) if len(xs) else None,
        "p99_ms": round(float(np.percentile(xs, 99)), 2) if len(xs) else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


# --- the null server (the generator's own ceiling) --------------------------------------

_NULL_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class _NullProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        self.transport.write(_NULL_RESPONSE)


def _null_server(port: int) -> None:
    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(_NullProtocol, "127.0.0.1", port)
        await server.serve_forever()

    uvloop.run(serve())


# --- setup, servers, the raw producer -----------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _database(base: Settings) -> Settings:
    admin = make_conninfo(libpq_url(base.resolved_database_url), dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    url = make_conninfo(libpq_url(base.resolved_database_url), dbname=DB)
    settings = base.model_copy(update={
        "database_url": to_url(url),
        "topic_namespace": f"bench{int(time.time())}.",
    })
    migrate(settings)
    return settings


def _start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return process
        except OSError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"{command} did not become ready")


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _raw_values() -> list[tuple[bytes, bytes]]:
    return [(e.partition_key.encode(), encode_event(e))
            for e in (example("playback.heartbeat", learner_id=f"l{i % 500}")
                      for i in range(2000))]


async def _raw_aiokafka(settings: Settings, events: int) -> dict[str, Any]:
    from aiokafka import AIOKafkaProducer

    from ingest.emitter import PRODUCER_DEFAULTS

    values = _raw_values()
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.resolved_kafka_bootstrap, acks=PRODUCER_DEFAULTS["acks"],
        enable_idempotence=PRODUCER_DEFAULTS["enable_idempotence"], linger_ms=5,
        max_batch_size=256 * 1024)
    await producer.start()
    topic = settings.topic("learnstream.behavior")
    try:
        await (await producer.send(topic, values[0][1], key=values[0][0]))  # metadata, warm-up
        started = time.perf_counter()
        futures = [await producer.send(topic, v, key=k)
                   for k, v in (values[i % len(values)] for i in range(events))]
        await asyncio.gather(*futures)
        elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
    return {"events": events, "seconds": round(elapsed, 2),
            "events_per_s": round(events / elapsed, 1)}


def _raw_confluent(settings: Settings, events: int) -> dict[str, Any]:
    """librdkafka with the collector's own configuration (acks=all, idempotence), every
    event queued from one thread and every delivery report counted."""
    from confluent_kafka import Producer as KafkaProducer

    from collector.producer import producer_config

    values = _raw_values()
    config = {**producer_config(settings), "linger.ms": 5,
              "queue.buffering.max.messages": events + 1}
    producer = KafkaProducer(config)
    topic = settings.topic("learnstream.behavior")
    failed: list[object] = []

    def report(err: object, msg: object) -> None:
        if err is not None:
            failed.append(err)

    producer.produce(topic, values[0][1], values[0][0], on_delivery=report)
    producer.flush(30)  # metadata, warm-up
    started = time.perf_counter()
    for i in range(events):
        k, v = values[i % len(values)]
        producer.produce(topic, v, k, on_delivery=report)
        producer.poll(0)
    left = producer.flush(60)
    elapsed = time.perf_counter() - started
    if left or failed:
        raise RuntimeError(f"raw confluent producer: {left} undelivered, {failed[:3]}")
    return {"events": events, "seconds": round(elapsed, 2),
            "events_per_s": round(events / elapsed, 1)}


def _raw_producers(settings: Settings, events: int) -> dict[str, Any]:
    """Both raw producers; the faster is the peer the collector is compared with."""
    measured = {"aiokafka": _run(_raw_aiokafka(settings, events)),
                "confluent-kafka": _raw_confluent(settings, events)}
    fastest = max(measured, key=lambda name: measured[name]["events_per_s"])
    return {"producers": measured, "fastest": fastest,
            "events_per_s": measured[fastest]["events_per_s"]}


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    return uvloop.run(coro)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--raw-events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = _database(Settings())
    with connect(settings) as conn:
        _, key = create_key(conn, "bench")
        conn.commit()
    from ingest.topics import ensure_topics

    ensure_topics(settings)
    # The benchmark measures throughput, not the per-key limit.
    env = collector_env(settings, rate_limit_per_second=0)
    result: dict[str, Any] = {
        "command": "python -m bench.collector " + " ".join(sys.argv[1:]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs",
        "connections": args.connections, "seconds": args.seconds, "rounds": args.rounds,
    }
    batches = (1, 50)

    # 1. The generator alone.
    port = _free_port()
    null = subprocess.Popen([sys.executable, "-c",
                             f"from bench.collector import _null_server; _null_server({port})"],
                            cwd=ROOT, env=env)
    _wait_port(port)
    try:
        result["generator_alone"] = {
            str(b): _run(_closed_loop(port, _requests(port, key, b),
                                                  args.connections, args.seconds))
            for b in batches
        }
    finally:
        _stop(null)

    # 2. Every candidate, closed loop; rounds interleave the candidates, so a neighbour's
    # load on the shared machine hits all of them, and the median round is reported.
    rounds: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for _ in range(args.rounds):
        for server, framework in CANDIDATES:
            port = _free_port()
            process = _start([sys.executable, "-m", "bench.collector_server", server,
                              framework, str(port)], env, port)
            try:
                for b in batches:
                    measured = _run(_closed_loop(
                        port, _requests(port, key, b), args.connections, args.seconds))
                    rounds.setdefault(f"{server}+{framework}", {}).setdefault(
                        str(b), []).append(measured)
            finally:
                _stop(process)
    result["candidates"] = {}
    for name, per_batch in rounds.items():
        result["candidates"][name] = {}
        for size, runs in per_batch.items():
            ordered = sorted(runs, key=lambda r: r["requests_per_s"])
            median = dict(ordered[len(ordered) // 2])
            median["rounds_requests_per_s"] = [r["requests_per_s"] for r in runs]
            result["candidates"][name][size] = median

    # 3. The raw producer.
    result["raw_producer"] = _raw_producers(settings, args.raw_events)

    # 4. The served candidate at half its maximum rate.
    served = result["candidates"]["+".join(SERVED)]
    port = _free_port()
    process = _start([sys.executable, "-m", "bench.collector_server", *SERVED, str(port)],
                     env, port)
    half: dict[str, list[dict[str, Any]]] = {}
    try:
        # Rounds here too: one window's p99 is a handful of requests, and a neighbour's
        # burst on the shared cores decides it; the median round is reported with all.
        for _ in range(args.rounds):
            for b in batches:
                rate = served[str(b)]["requests_per_s"] / 2
                # Warm-up (connections, key cache, topic metadata) outside the measurement.
                _run(_closed_loop(port, _requests(port, key, b), args.connections, 1.0))
                measured = _run(_open_loop(
                    port, _requests(port, key, b), args.connections * 4, rate, args.seconds))
                half.setdefault(str(b), []).append({"rate_requests_per_s": rate, **measured})
    finally:
        _stop(process)
    result["half_rate"] = {}
    for size, runs in half.items():
        ordered = sorted(runs, key=lambda r: r["p99_ms"])
        median = dict(ordered[len(ordered) // 2])
        median["rounds_p99_ms"] = [r["p99_ms"] for r in runs]
        result["half_rate"][size] = median

    raw = result["raw_producer"]["events_per_s"]
    for per_batch in result["candidates"].values():
        for b, figures in per_batch.items():
            figures["events_per_s"] = round(figures["requests_per_s"] * int(b), 1)
            figures["ratio_to_raw_producer"] = round(figures["events_per_s"] / raw, 3)
            gen = result["generator_alone"][b]["requests_per_s"]
            figures["share_of_generator_ceiling"] = round(figures["requests_per_s"] / gen, 3)
    print(publish("collector", result, _markdown(result)))


def _markdown(r: dict[str, Any]) -> str:
    lines = [
        "### Collector benchmark",
        "",
        f"Command: `{r['command'].strip()}` ({r['when']}, {r['machine']}; generator, "
        f"server, Kafka and PostgreSQL share them), {r['connections']} keep-alive "
        f"connections, {r['seconds']:g} s per measurement after 1 s of warm-up; the "
        f"candidates interleaved over {r['rounds']} rounds, the median round shown (every "
        "round's requests/s in the last column).",
        "",
        "Load generator alone (null server): "
        + ", ".join(f"batch {b}: {v['requests_per_s']:,.0f} requests/s"
                    for b, v in r["generator_alone"].items()) + ".",
        "",
        "Raw producers (acks=all, idempotent, the same events, every acknowledgement "
        "awaited): " + ", ".join(f"{name} {v['events_per_s']:,.0f} events/s"
                                for name, v in r["raw_producer"]["producers"].items())
        + f"; the ratios below are to the faster, **{r['raw_producer']['fastest']}, "
        f"{r['raw_producer']['events_per_s']:,.0f} events/s**.",
        "",
        "| server + framework | batch | requests/s | events/s | p50 ms | p99 ms | "
        "x raw producer | x generator ceiling | statuses | rounds, requests/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for name, per_batch in r["candidates"].items():
        for b, v in per_batch.items():
            lines.append(
                f"| {name} | {b} | {v['requests_per_s']:,.0f} | {v['events_per_s']:,.0f} | "
                f"{v['p50_ms']} | {v['p99_ms']} | {v['ratio_to_raw_producer']} | "
                f"{v['share_of_generator_ceiling']} | {v['statuses']} | "
                f"{', '.join(f'{x:,.0f}' for x in v['rounds_requests_per_s'])} |")
    lines += [
        "",
        f"At half of the maximum rate ({'+'.join(SERVED)}, open loop, latency from the "
        f"scheduled send; {r['rounds']} rounds, the round of median p99 shown, every "
        "round's p99 in the last column):",
        "",
        "| batch | requests/s asked | served | p50 ms | p99 ms | statuses | rounds, p99 ms |",
        "| ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for b, v in r["half_rate"].items():
        lines.append(f"| {b} | {v['rate_requests_per_s']:,.0f} | {v['requests_per_s']:,.0f} | "
                     f"{v['p50_ms']} | {v['p99_ms']} | {v['statuses']} | "
                     f"{', '.join(str(x) for x in v['rounds_p99_ms'])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
