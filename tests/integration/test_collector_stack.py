"""The collector as a real process against the real Kafka and PostgreSQL: events posted over
HTTP reach the log exactly once through the real ingest; keys from the database; rejected
events are dead letters; Kafka unreachable is 503 and a retry afterwards loses nothing;
every event acknowledged before a SIGKILL is in the log."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import orjson
import pytest

from ingest.topics import ensure_topics
from learnstream.contracts import EVENT_TYPES, encode_event
from learnstream.settings import Settings
from testing.collector import collector_env, make_key, running_collector, wait_ready
from testing.ingest import REPO_ROOT, dead_letter_rows, ingest_until_idle, logged_event_ids
from tests.examples import all_examples, example, hostile_corpus


def _wire(event: Any) -> Any:
    return orjson.loads(encode_event(event))


def _post(client: httpx.Client, url: str, key: str, body: bytes, **headers: str) -> Any:
    return client.post(f"{url}/v1/events", content=body, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers})


def test_http_to_log_each_event_type_once_and_a_retry_adds_nothing(
    kafka_settings: Settings,
) -> None:
    ensure_topics(kafka_settings)
    key = make_key(kafka_settings, "backend")
    events = all_examples()
    bad = [raw for name, _, raw, _ in hostile_corpus() if name in ("unknown_type", "wrong_type")]
    body = b"[" + b",".join([*(encode_event(e) for e in events), *bad]) + b"]"
    with running_collector(kafka_settings) as (_, url), httpx.Client(timeout=30) as client:
        wait_ready(url, client)
        first = _post(client, url, key, body)
        retry = _post(client, url, key, body)  # the client did not see the answer
    assert first.status_code == 200, first.text
    assert (first.json()["accepted"], first.json()["rejected"]) == (len(events), 2)
    assert retry.status_code == 200

    summary = ingest_until_idle(kafka_settings)

    assert sorted(logged_event_ids(kafka_settings)) == sorted(str(e.event_id) for e in events)
    assert summary.inserted == len(EVENT_TYPES) and summary.dead_lettered == 0
    dead = dead_letter_rows(kafka_settings)
    # Stored by the collector itself (ingest saw only valid events), once despite the retry.
    assert sorted(d["reason"] for d in dead) == ["invalid_field", "unknown_event_type"]
    assert {d["kafka_topic"] for d in dead} == {"collector:backend"}
    assert sorted(bytes(d["raw"]) for d in dead) == sorted(
        orjson.dumps(orjson.loads(raw)) for raw in bad)


def test_keys_from_the_database_revoked_403_and_families_per_event(
    kafka_settings: Settings,
) -> None:
    ensure_topics(kafka_settings)
    browser = make_key(kafka_settings, "web", ("behavior",))
    play, catalog = example("playback.started"), example("content.generated")
    env_run = running_collector(kafka_settings, key_cache_seconds=0)
    with env_run as (_, url), httpx.Client(timeout=30) as client:
        wait_ready(url, client)
        unknown = _post(client, url, "lsk_nope", encode_event(play))
        mixed = client.post(f"{url}/v1/events", params={"key": browser},
                            content=orjson.dumps([_wire(play), _wire(catalog)]),
                            headers={"Content-Type": "text/plain"})
        revoke = subprocess.run(
            [sys.executable, "-c", "from app.cli import main; main()", "keys", "revoke",
             "--app", "web"], env=collector_env(kafka_settings), cwd=REPO_ROOT,
            capture_output=True, text=True, check=False)
        revoked = _post(client, url, browser, encode_event(example("playback.paused")))
    assert unknown.status_code == 401
    assert mixed.status_code == 200
    assert [r["status"] for r in mixed.json()["results"]] == ["accepted", "forbidden"]
    assert revoke.returncode == 0, revoke.stderr
    assert revoked.status_code == 403 and revoked.json()["error"] == "revoked_key"
    ingest_until_idle(kafka_settings)
    assert logged_event_ids(kafka_settings) == [str(play.event_id)]


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from app.cli import main; main()", *args],
                          env=collector_env(settings), cwd=REPO_ROOT, capture_output=True,
                          text=True, check=False)


def test_keys_commands_create_list_revoke_and_refuse_mistakes_in_one_line(
    db_settings: Settings,
) -> None:
    created = _cli(db_settings, "keys", "create", "--app", "web", "--family", "behavior",
                   "--family", "likes")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("lsk_") and len(key) > 40
    listed = _cli(db_settings, "keys", "list", "--app", "web")
    assert key[:12] in listed.stdout and key not in listed.stdout  # only the prefix is shown
    assert "behavior, likes" in listed.stdout
    assert _cli(db_settings, "keys", "revoke", "--app", "web").returncode == 0
    again = _cli(db_settings, "keys", "revoke", "--app", "web")
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1 and "no active write key" in again.stderr
    wrong = _cli(db_settings, "keys", "create", "--app", "web", "--family", "secrets")
    assert wrong.returncode == 2 and "unknown family secrets" in wrong.stderr
    assert "Traceback" not in wrong.stderr + again.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_kafka_unreachable_is_503_then_the_retry_lands_exactly_the_accepted_set(
    kafka_settings: Settings,
) -> None:
    ensure_topics(kafka_settings)
    key = make_key(kafka_settings, "backend")
    batches = [[example("playback.heartbeat") for _ in range(5)] for _ in range(4)]
    nowhere = kafka_settings.model_copy(
        update={"kafka_bootstrap": f"127.0.0.1:{_free_port()}"})
    acknowledged: list[str] = []
    with running_collector(nowhere, produce_timeout_seconds=2) as (_, url), \
            httpx.Client(timeout=30) as client:
        ready = client.get(f"{url}/readyz")
        refused = [_post(client, url, key, orjson.dumps([_wire(e) for e in b]))
                   for b in batches]
    assert ready.status_code == 503
    assert {r.status_code for r in refused} == {503}
    assert all(r.headers["Retry-After"] for r in refused)
    # The broker is back (a collector that reaches it): the client retries every batch.
    with running_collector(kafka_settings) as (_, url), httpx.Client(timeout=30) as client:
        wait_ready(url, client)
        for batch in batches:
            answer = _post(client, url, key, orjson.dumps([_wire(e) for e in batch]))
            assert answer.status_code == 200
            acknowledged += [r["event_id"] for r in answer.json()["results"]]
    ingest_until_idle(kafka_settings)
    sent = [str(e.event_id) for b in batches for e in b]
    assert sorted(logged_event_ids(kafka_settings)) == sorted(acknowledged) == sorted(sent)


def test_sigkill_mid_load_loses_no_acknowledged_event(kafka_settings: Settings) -> None:
    ensure_topics(kafka_settings)
    key = make_key(kafka_settings, "backend")
    acknowledged: list[str] = []
    sent: list[str] = []
    stop = threading.Event()

    def load(url: str) -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                batch = [example("playback.heartbeat") for _ in range(20)]
                sent.extend(str(e.event_id) for e in batch)
                try:
                    answer = _post(client, url, key, orjson.dumps([_wire(e) for e in batch]))
                except httpx.HTTPError:
                    return  # the collector is gone
                if answer.status_code == 200:
                    acknowledged.extend(r["event_id"] for r in answer.json()["results"])

    with running_collector(kafka_settings) as (process, url), \
            httpx.Client(timeout=30) as client:
        wait_ready(url, client)
        threads = [threading.Thread(target=load, args=(url,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        while len(acknowledged) < 600:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        stop.set()
        for thread in threads:
            thread.join()

    ingest_until_idle(kafka_settings)
    logged = set(logged_event_ids(kafka_settings))
    assert len(acknowledged) >= 600
    assert set(acknowledged) <= logged  # every acknowledged event is durable
    assert logged <= set(sent)          # and nothing else appeared


def _read_response(sock: socket.socket) -> bytes:
    """One whole HTTP response: headers and body may arrive in separate segments."""
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        length = re.search(rb"content-length: *(\d+)", head.lower())
        if sep and length and len(body) >= int(length.group(1)):
            return data
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk


def test_a_slow_body_gets_408_and_others_are_still_served(kafka_settings: Settings) -> None:
    ensure_topics(kafka_settings)
    key = make_key(kafka_settings, "backend")
    with running_collector(kafka_settings, body_timeout_seconds=1) as (_, url), \
            httpx.Client(timeout=30) as client:
        wait_ready(url, client)
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as slow:
            slow.sendall(
                b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: 1000\r\n\r\n["
            )
            during = _post(client, url, key, encode_event(example("playback.started")))
            slow.settimeout(30)
            answer = _read_response(slow)
    assert during.status_code == 200
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"body_timeout" in answer


@pytest.mark.parametrize("body, headers, status", [
    (b"[" * 100_000 + b"]" * 100_000, {}, 400),
    (b"\x00" * 64, {"Content-Type": "text/plain"}, 400),
    (b"x" * (1024 * 1024 + 1), {}, 413),
    (b"<a/>", {"Content-Type": "application/xml"}, 415),
])
def test_hostile_bodies_over_http_are_a_4xx_each(
    kafka_settings: Settings, body: bytes, headers: dict[str, str], status: int
) -> None:
    ensure_topics(kafka_settings)
    key = make_key(kafka_settings, "backend")
    with running_collector(kafka_settings) as (process, url), \
            httpx.Client(timeout=30) as client:
        wait_ready(url, client)
        answer = _post(client, url, key, body, **headers)
        after = _post(client, url, key, encode_event(example("playback.started")))
        alive = process.poll() is None
    assert answer.status_code == status
    assert after.status_code == 200 and alive


def test_the_collector_role_reads_keys_and_inserts_dead_letters_only(
    db_settings: Settings,
) -> None:
    import psycopg

    from learnstream.db import connect

    make_key(db_settings, "web")
    with connect(db_settings, autocommit=True) as conn:
        conn.execute("SET ROLE learnstream_collector")
        assert conn.execute("SELECT app FROM collector.write_keys").fetchall() == [("web",)]
        conn.execute(
            "INSERT INTO log.dead_letters (reason, detail, raw, raw_size, kafka_topic, "
            "kafka_partition, kafka_offset) VALUES ('x', 'y', 'z', 1, 'collector:web', 1, 1)"
        )
        refused = [
            "SELECT key_prefix FROM collector.write_keys",  # only what the lookup needs
            "UPDATE collector.write_keys SET revoked_at = now()",
            "INSERT INTO collector.write_keys (app, key_hash, key_prefix) "
            "VALUES ('a', decode(repeat('00', 32), 'hex'), 'p')",
            "SELECT * FROM log.dead_letters",
            "SELECT * FROM log.behavioral_events",
            "INSERT INTO log.behavioral_events (event_id) VALUES (gen_random_uuid())",
        ]
        for statement in refused:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_the_collectors_producer_puts_a_key_where_the_emitter_would(
    kafka_settings: Settings,
) -> None:
    """librdkafka's default partitioner is not the Java client's: without murmur2 a learner's
    events from the collector and from a backend's emitter would sit in different
    partitions and lose their order."""
    from confluent_kafka import Producer as KafkaProducer
    from kafka.partitioner.default import murmur2

    from collector.producer import producer_config
    from learnstream.contracts import Topic

    ensure_topics(kafka_settings)
    topic = kafka_settings.topic(Topic.BEHAVIOR)
    producer = KafkaProducer(producer_config(kafka_settings))
    partitions = len(producer.list_topics(topic, timeout=30).topics[topic].partitions)
    assert partitions > 1
    keys = [f"learner-{i}".encode() for i in range(60)]
    landed: dict[bytes, int] = {}

    def report(err: Any, msg: Any) -> None:
        assert err is None, err
        landed[msg.key()] = msg.partition()

    assert producer.produce_batch(topic, [{"key": k, "value": b"{}"} for k in keys],
                                  on_delivery=report) == len(keys)
    assert producer.flush(30) == 0
    assert landed == {k: (murmur2(k) & 0x7FFFFFFF) % partitions for k in keys}
    assert len(set(landed.values())) > 1
