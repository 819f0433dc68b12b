"""The collector's HTTP service in process, with Kafka and PostgreSQL replaced by fakes:
body forms, per-event verdicts, keys, limits, hostile bodies, CORS, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from collector.body import parse_body, read_body
from collector.errors import CollectorOverloaded, RequestRejected
from collector.keys import KeyCache, WriteKey, check_families, hash_key
from collector.producer import Producer, Record
from collector.ratelimit import RateLimiter
from collector.service import Collector, create_app
from collector.store import Store
from ingest.appender import DeadLetter
from learnstream.contracts import Envelope, decode_event, encode_event
from learnstream.errors import BrokerUnavailable, DatabaseUnavailable, EventRejected
from learnstream.settings import Settings
from tests.examples import all_examples, example, hostile_corpus

KEY = "lsk_server"
BROWSER = "lsk_browser"
REVOKED = "lsk_revoked"
KEYS = {
    KEY: WriteKey(1, "backend", None, False),
    BROWSER: WriteKey(2, "web", frozenset({"behavior", "likes"}), False),
    REVOKED: WriteKey(3, "old", None, True),
}
AUTH = {"Authorization": f"Bearer {KEY}"}


class FakeProducer(Producer):
    """Records what would be produced; ``failure`` is raised instead when set."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.sent: list[Record] = []
        self.failure: Exception | None = None
        self.up = True

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def produce(self, records: Sequence[Record]) -> float:
        if self.failure is not None:
            raise self.failure
        self.sent.extend(records)
        return 0.002

    async def ready(self, timeout: float = 2.0) -> bool:
        return self.up


class FakeStore(Store):
    """Keys from a dict, dead letters into a list; ``down`` makes both fail."""

    def __init__(self) -> None:
        self.stored: list[DeadLetter] = []
        self.down = False

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    async def key(self, presented: str) -> WriteKey | None:
        if self.down:
            raise DatabaseUnavailable("connection refused")
        return KEYS.get(presented)

    async def dead_letters(self, dead_letters: Sequence[DeadLetter]) -> None:
        if self.down:
            raise DatabaseUnavailable("connection refused")
        self.stored.extend(dead_letters)


class Harness:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer = FakeProducer(settings)
        self.store = FakeStore()
        collector = Collector(settings, producer=self.producer, store=self.store)
        self.client = TestClient(create_app(settings, collector=collector))

    def event_records(self) -> list[Record]:
        return [r for r in self.producer.sent if "dead-letter" not in r.topic]

    def produced_events(self) -> list[Envelope]:
        return [decode_event(r.value) for r in self.event_records()]


def _settings(**collector: Any) -> Settings:
    return Settings(kafka_bootstrap="kafka:1", database_url="postgresql://x@h/db",
                    topic_namespace="ns.").with_part(collector=collector)


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness(_settings())
    with h.client:
        yield h


def _wire(event: Envelope) -> Any:
    return orjson.loads(encode_event(event))


def _post(h: Harness, body: bytes, *, headers: dict[str, str] | None = None,
          params: dict[str, str] | None = None) -> Any:
    merged = {"Content-Type": "application/json", **AUTH, **(headers or {})}
    return h.client.post("/v1/events", content=body, headers=merged, params=params)


# --- body forms -------------------------------------------------------------------------

def test_a_json_array_of_every_event_type_is_produced_to_its_topics(harness: Harness) -> None:
    events = all_examples()
    response = _post(harness, orjson.dumps([_wire(e) for e in events]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"], body["forbidden"]) == (len(events), 0, 0)
    assert [r["event_id"] for r in body["results"]] == [str(e.event_id) for e in events]
    records = harness.event_records()
    assert [r.topic for r in records] == [f"ns.{e.topic.value}" for e in events]
    # The emitter's key rule: learner, else session.
    assert [r.key for r in records] == [e.partition_key.encode() for e in events]
    produced = harness.produced_events()
    for sent, got in zip(events, produced, strict=True):
        assert got.model_dump(exclude={"context"}) == sent.model_dump(exclude={"context"})
        assert got.context.platform == sent.context.platform
        server = (got.context.model_extra or {})["collector"]
        assert server["app"] == "backend"
        assert datetime.fromisoformat(server["received_at"]).tzinfo is not None
        assert "ip" not in server and "user_agent" not in server  # privacy by default


def test_one_event_ndjson_text_plain_and_gzip_are_read(harness: Harness) -> None:
    one = example("playback.started")
    assert _post(harness, encode_event(one)).json()["accepted"] == 1
    lines = [example("content.liked"), example("lesson.started")]
    ndjson = b"\n".join(encode_event(e) for e in lines) + b"\n\n"
    response = _post(harness, ndjson, headers={"Content-Type": "application/x-ndjson"})
    assert response.json()["accepted"] == 2
    beacon = b"\r\n".join(encode_event(e) for e in lines)  # sendBeacon: text/plain
    response = _post(harness, beacon, headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert response.json()["accepted"] == 2
    array = orjson.dumps([_wire(e) for e in lines])
    response = _post(harness, gzip.compress(array), headers={"Content-Encoding": "gzip"})
    assert response.json()["accepted"] == 2
    ids = [str(e.event_id) for e in harness.produced_events()]
    assert ids == [str(one.event_id)] + [str(e.event_id) for e in lines] * 3


def test_sent_at_gives_the_clock_skew_and_occurred_at_is_kept(harness: Harness) -> None:
    event = example("playback.paused")
    sent_at = datetime.now(UTC) - timedelta(minutes=10)  # the client's clock is 10 min slow
    body = orjson.dumps({"sent_at": sent_at.isoformat(), "events": [_wire(event)]})
    assert _post(harness, body).status_code == 200
    (got,) = harness.produced_events()
    server = (got.context.model_extra or {})["collector"]
    assert server["sent_at"] == sent_at.isoformat()
    skew = server["clock_skew_ms"]
    received = datetime.fromisoformat(server["received_at"])
    assert skew == round((received - sent_at).total_seconds() * 1000)
    assert 9 * 60_000 < skew < 11 * 60_000
    assert got.occurred_at == event.occurred_at
    # sendBeacon cannot wrap its NDJSON: the query parameter says the same.
    response = _post(harness, encode_event(event), params={"sent_at": sent_at.isoformat()})
    assert response.status_code == 200
    extra = harness.produced_events()[-1].context.model_extra or {}
    assert extra["collector"]["sent_at"] == sent_at.isoformat()
    bad = _post(harness, encode_event(event), params={"sent_at": "yesterday"})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_sent_at")


def test_a_client_cannot_forge_the_server_side_fields(harness: Harness) -> None:
    event = _wire(example("playback.started"))
    event["context"]["collector"] = {"app": "forged", "received_at": "2000-01-01T00:00:00Z"}
    assert _post(harness, orjson.dumps(event)).json()["accepted"] == 1
    (got,) = harness.produced_events()
    server = (got.context.model_extra or {})["collector"]
    assert server["app"] == "backend" and not server["received_at"].startswith("2000")
    assert got.context.platform == "ios"  # the client's own context is kept


def test_ip_and_user_agent_are_kept_only_when_configured() -> None:
    h = Harness(_settings(keep_ip=True, keep_user_agent=True))
    with h.client:
        _post(h, encode_event(example("playback.started")), headers={"User-Agent": "Player/2"})
    (got,) = h.produced_events()
    server = (got.context.model_extra or {})["collector"]
    assert server["user_agent"] == "Player/2"
    assert server["ip"]


# --- per-event verdicts -----------------------------------------------------------------

def test_each_hostile_event_gets_the_consumers_reason_and_becomes_a_dead_letter(
    harness: Harness,
) -> None:
    corpus = [(name, raw) for name, _, raw, _ in hostile_corpus()
              if name not in ("empty", "wrong_topic")]  # no line; the collector infers topics
    good = example("playback.started")
    lines = [raw for _, raw in corpus] + [encode_event(good)]
    assert all(b"\n" not in line for line in lines)
    response = _post(harness, b"\n".join(lines), headers={"Content-Type": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, len(corpus))
    for (name, raw), result in zip(corpus, body["results"], strict=False):
        with pytest.raises(EventRejected) as consumer:
            decode_event(raw)
        assert result["status"] == "rejected", name
        # (The far-future detail names the limit, now + skew: compared up to it.)
        assert (result["reason"], result["detail"].split(" is after")[0]) == (
            str(consumer.value.reason), consumer.value.detail.split(" is after")[0]), name
    assert [d.raw for d in harness.store.stored] == [raw for _, raw in corpus]
    assert {d.source.topic for d in harness.store.stored} == {"collector:backend"}
    assert {d.source.partition for d in harness.store.stored} == {1}
    # The dead letters also go to the dead-letter topic, as ingest's do.
    dead_topic = [r for r in harness.producer.sent if r.topic == "ns.learnstream.dead-letter"]
    assert len(dead_topic) == len(corpus)
    assert [str(e.event_id) for e in harness.produced_events()] == [str(good.event_id)]


def test_the_same_bad_bytes_have_the_same_dead_letter_source(harness: Harness) -> None:
    bad = b'{"event_type": "nope"}'
    _post(harness, bad)
    _post(harness, bad)
    first, second = harness.store.stored
    assert first.source == second.source  # the table's unique key collapses a retry


def test_an_event_the_collectors_fields_push_past_the_limit_is_rejected() -> None:
    settings = _settings().with_part(ingest={"max_event_bytes": 2000})
    event = example("playback.started")
    pad = 2000 - len(encode_event(event)) - 40
    padded = event.model_copy(update={"context": event.context.model_copy(
        update={"device_info": {"p": "x" * pad}})})
    raw = encode_event(padded)
    assert len(raw) <= 2000
    h = Harness(settings)
    with h.client:
        body = _post(h, raw).json()
    assert body["results"][0]["reason"] == "oversized"
    assert "collector's fields" in body["results"][0]["detail"]
    assert h.event_records() == [] and len(h.store.stored) == 1


# --- keys, families, rate limit ---------------------------------------------------------

def test_missing_and_unknown_keys_are_401_revoked_is_403(harness: Harness) -> None:
    raw = encode_event(example("playback.started"))
    missing = harness.client.post("/v1/events", content=raw)
    assert (missing.status_code, missing.json()["error"]) == (401, "missing_key")
    unknown = _post(harness, raw, headers={"Authorization": "Bearer lsk_nope"})
    assert (unknown.status_code, unknown.json()["error"]) == (401, "unknown_key")
    revoked = _post(harness, raw, headers={"Authorization": f"Bearer {REVOKED}"})
    assert (revoked.status_code, revoked.json()["error"]) == (403, "revoked_key")
    assert harness.producer.sent == []


def test_the_key_may_come_as_a_query_parameter_for_send_beacon(harness: Harness) -> None:
    raw = encode_event(example("playback.started"))
    response = harness.client.post("/v1/events", content=raw, params={"key": BROWSER},
                                   headers={"Content-Type": "text/plain"})
    assert response.status_code == 200
    assert response.json()["accepted"] == 1


def test_a_family_the_key_may_not_send_is_forbidden_per_event(harness: Harness) -> None:
    browser = {"Authorization": f"Bearer {BROWSER}"}
    catalog = example("content.generated")
    only = _post(harness, encode_event(catalog), headers=browser)
    assert only.status_code == 403
    assert only.json()["results"][0]["status"] == "forbidden"
    play = example("playback.started")
    mixed = _post(harness, orjson.dumps([_wire(play), _wire(catalog)]), headers=browser)
    assert mixed.status_code == 200
    assert [r["status"] for r in mixed.json()["results"]] == ["accepted", "forbidden"]
    assert [str(e.event_id) for e in harness.produced_events()] == [str(play.event_id)]
    assert harness.store.stored == []  # not a bad event: the client is told, nothing stored


def test_a_key_over_its_rate_gets_429_with_retry_after() -> None:
    h = Harness(_settings(rate_limit_per_second=0.001, rate_limit_burst=2))
    raw = encode_event(example("playback.started"))
    with h.client:
        statuses = [_post(h, raw).status_code for _ in range(3)]
        limited = _post(h, raw)
        other = _post(h, raw, headers={"Authorization": f"Bearer {BROWSER}"})
    assert statuses == [200, 200, 429]
    assert limited.headers["Retry-After"] == "5"
    assert other.status_code == 200  # per key


def test_rate_limiter_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(2.0, 1, clock=lambda: now[0])
    assert limiter.allow(1) and not limiter.allow(1)
    now[0] = 0.5
    assert limiter.allow(1) and not limiter.allow(1)
    assert RateLimiter(0, 1).allow(1)  # 0: off


def test_key_cache_forgets_after_its_ttl_and_stays_bounded() -> None:
    now = [0.0]
    cache = KeyCache(10.0, clock=lambda: now[0], max_entries=2)
    key = WriteKey(1, "a", None, False)
    cache.put(b"h1", key)
    cache.put(b"h2", None)
    assert cache.get(b"h1") == (True, key) and cache.get(b"h2") == (True, None)
    now[0] = 11.0
    assert cache.get(b"h1") == (False, None)
    cache.put(b"h3", key)
    assert len(cache._entries) <= 2
    assert hash_key("k") != hash_key("k2") and len(hash_key("k")) == 32


def test_families_are_checked() -> None:
    assert check_families([]) is None
    assert check_families(["likes", "behavior", "likes"]) == ["behavior", "likes"]
    with pytest.raises(ValueError, match="unknown family nope"):
        check_families(["behavior", "nope"])


# --- durability: no 2xx for what Kafka does not have -------------------------------------

@pytest.mark.parametrize("failure, code", [
    (BrokerUnavailable("no broker"), "kafka_unavailable"),
    (CollectorOverloaded("20000 events already wait"), "overloaded"),
])
def test_kafka_unavailable_or_full_is_503_with_retry_after(
    harness: Harness, failure: Exception, code: str
) -> None:
    harness.producer.failure = failure
    response = _post(harness, encode_event(example("playback.started")))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"] == code


def test_database_down_is_503_and_nothing_is_produced(harness: Harness) -> None:
    harness.store.down = True
    response = _post(harness, orjson.dumps([_wire(example("playback.started"))]))
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"
    assert harness.producer.sent == []


class Queueing:
    """Stands in for librdkafka's producer: ``produce_batch`` queues up to ``capacity``
    (marking the rest as librdkafka does) and, unless ``hold``, reports each delivery at
    once (with ``error``, when set), as ``poll()`` would."""

    def __init__(self, *, capacity: int = 1000, error: Any = None, hold: bool = False) -> None:
        self.sent = 0
        self.capacity = capacity
        self.error = error
        self.hold = hold

    def produce_batch(self, topic: str, messages: list[dict[str, Any]], on_delivery: Any
                      ) -> int:
        from confluent_kafka import KafkaError

        queued = 0
        for message in messages:
            if self.sent >= self.capacity:
                message["_error"] = KafkaError(KafkaError._QUEUE_FULL)
                continue
            self.sent += 1
            queued += 1
            if not self.hold:
                on_delivery(self.error, None)
        return queued


def _connected(producer: Producer, fake: Queueing) -> Producer:
    producer._producer = fake  # type: ignore[assignment]
    producer._connected = True
    return producer


def test_producer_refuses_past_its_in_flight_bound_before_queueing() -> None:
    fake = Queueing()
    producer = _connected(Producer(_settings(max_in_flight_events=3)), fake)
    records = [Record("t", b"k", b"v")] * 3

    async def run() -> None:
        await producer.produce(records)
        producer.in_flight = 1  # another request's events still wait
        with pytest.raises(CollectorOverloaded):
            await producer.produce(records)

    asyncio.run(run())
    assert fake.sent == 3 and producer.in_flight == 1


def test_producer_queue_full_is_overloaded_and_frees_its_count() -> None:
    fake = Queueing(capacity=4)
    producer = _connected(Producer(_settings()), fake)
    with pytest.raises(CollectorOverloaded, match="queue is full"):
        asyncio.run(producer.produce([Record("t", b"k", b"v")] * 5))
    assert fake.sent == 4 and producer.in_flight == 0


def test_a_failed_delivery_fails_the_whole_request() -> None:
    from confluent_kafka import KafkaError

    producer = _connected(Producer(_settings()),
                          Queueing(error=KafkaError(KafkaError._MSG_TIMED_OUT)))
    with pytest.raises(BrokerUnavailable, match="refused"):
        asyncio.run(producer.produce([Record("t", b"k", b"v")] * 2))
    assert producer.in_flight == 0


def test_no_acknowledgement_within_the_timeout_is_broker_unavailable() -> None:
    producer = _connected(Producer(_settings(produce_timeout_seconds=0.2)),
                          Queueing(hold=True))
    with pytest.raises(BrokerUnavailable, match="did not acknowledge"):
        asyncio.run(producer.produce([Record("t", b"k", b"v")]))
    assert producer.in_flight == 0


@contextlib.contextmanager
def _lost_kafka(**collector: Any) -> Iterator[tuple[TestClient, Producer]]:
    """The real producer (librdkafka), Kafka gone after it had connected: a closed port."""
    settings = Settings(kafka_bootstrap="127.0.0.1:1", database_url="postgresql://x@h/db",
                        topic_namespace="ns.").with_part(collector=collector)
    producer = Producer(settings)
    collector_state = Collector(settings, producer=producer, store=FakeStore())
    with TestClient(create_app(settings, collector=collector_state)) as client:
        producer._connected = True
        yield client, producer


def test_kafka_gone_is_503_from_the_real_producer() -> None:
    with _lost_kafka(produce_timeout_seconds=0.5) as (client, producer):
        response = client.post("/v1/events", content=encode_event(example("playback.started")),
                               headers={"Content-Type": "application/json", **AUTH})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json()["error"] == "kafka_unavailable"
        assert producer.in_flight == 0


def test_a_full_librdkafka_queue_is_503_overloaded() -> None:
    with _lost_kafka(max_in_flight_events=3, produce_timeout_seconds=1) as (client, producer):
        assert producer._producer is not None
        for _ in range(3):  # left by requests that timed out: still queued in librdkafka
            producer._producer.produce("ns.learnstream.behavior", b"v", b"k")
        # A batch of one: librdkafka refuses the single message (no BufferError).
        response = client.post("/v1/events", content=encode_event(example("playback.started")),
                               headers={"Content-Type": "application/json", **AUTH})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json()["error"] == "overloaded"
        assert "queue is full" in response.json()["detail"]


def test_producer_not_connected_is_broker_unavailable() -> None:
    producer = Producer(_settings())
    with pytest.raises(BrokerUnavailable):
        asyncio.run(producer.produce([Record("t", b"k", b"v")]))


# --- hostile bodies ---------------------------------------------------------------------

@pytest.mark.parametrize("body, headers, status, code", [
    (b'{"event_id": ', {}, 400, "malformed_json"),
    (b"[" * 100_000 + b"]" * 100_000, {}, 400, "malformed_json"),
    (b'[{"a": "\x00"}]', {}, 400, "malformed_json"),
    (b"\x00\x00\x00", {"Content-Type": "text/plain"}, 400, "malformed_json"),
    (b"", {}, 400, "empty_body"),
    (b"[]", {}, 400, "empty_body"),
    (b"42", {}, 400, "not_a_batch"),
    (b'{"events": 3}', {}, 400, "not_a_batch"),
    (b"<xml/>", {"Content-Type": "application/xml"}, 415, "unsupported_media_type"),
    (b"[]", {"Content-Encoding": "br"}, 415, "unsupported_encoding"),
    (b"not gzip at all", {"Content-Encoding": "gzip"}, 400, "bad_gzip"),
    (gzip.compress(b"[1, 2]")[:-6], {"Content-Encoding": "gzip"}, 400, "bad_gzip"),
], ids=["truncated", "deep_nesting", "raw_nul_in_string", "nul_bytes", "empty", "no_events",
        "a_number", "events_not_a_list", "xml", "brotli", "not_gzip", "truncated_gzip"])
def test_an_unreadable_body_is_one_4xx_and_the_service_keeps_serving(
    harness: Harness, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    response = _post(harness, body, headers=headers)
    assert (response.status_code, response.json()["error"]) == (status, code)
    assert response.json()["detail"]
    after = _post(harness, encode_event(example("playback.started")))
    assert after.status_code == 200
    assert harness.store.stored == []


def test_limits_on_size_and_count_are_413() -> None:
    h = Harness(_settings(max_body_bytes=4096, max_batch_events=3))
    events = [_wire(example("playback.heartbeat")) for _ in range(4)]
    with h.client:
        big = _post(h, b"[" + b" " * 5000 + b"]")
        many = _post(h, orjson.dumps(events))
    assert (big.status_code, big.json()["error"]) == (413, "body_too_large")
    assert "Content-Length 5002" in big.json()["detail"]
    assert (many.status_code, many.json()["error"]) == (413, "too_many_events")


async def _chunks(parts: Sequence[bytes], pause: float = 0.0) -> AsyncIterator[bytes]:
    for part in parts:
        if pause:
            await asyncio.sleep(pause)
        yield part


def _read(parts: Sequence[bytes], **kwargs: Any) -> bytes:
    options: dict[str, Any] = {"content_length": None, "gzipped": False, "limit": 1024,
                               "timeout": 5.0, **kwargs}
    pause = options.pop("pause", 0.0)
    return asyncio.run(read_body(_chunks(parts, pause), **options))


def test_a_body_without_content_length_is_cut_at_the_limit() -> None:
    assert _read([b"a" * 1000, b"b" * 24]) == b"a" * 1000 + b"b" * 24
    with pytest.raises(RequestRejected) as refused:
        _read([b"a" * 1000, b"b" * 25, b"never read"])
    assert refused.value.status == 413


def test_a_slow_body_is_cut_by_the_timeout() -> None:
    with pytest.raises(RequestRejected) as refused:
        _read([b"[", b"]"], pause=0.2, timeout=0.05)
    assert (refused.value.status, refused.value.code) == (408, "body_timeout")


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """200 MiB of zeros, gzipped to about 200 KiB."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\x00" * (1024 * 1024)
    return b"".join([*(deflate.compress(zeros) for _ in range(200)), deflate.flush()])


def test_a_gzip_bomb_is_refused_without_inflating_it(bomb: bytes) -> None:
    assert len(bomb) < 1024 * 1024
    chunks = [bomb[i:i + 65536] for i in range(0, len(bomb), 65536)]
    tracemalloc.start()
    try:
        with pytest.raises(RequestRejected) as refused:
            _read(chunks, gzipped=True, limit=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (refused.value.status, refused.value.code) == (413, "body_too_large")
    assert "inflates past" in refused.value.detail
    assert peak < 16 * 1024 * 1024  # the whole thing would be 200 MiB


def test_a_gzip_bomb_over_http_is_413(harness: Harness, bomb: bytes) -> None:
    response = _post(harness, bomb, headers={"Content-Encoding": "gzip"})
    assert (response.status_code, response.json()["error"]) == (413, "body_too_large")


def test_parse_body_keeps_the_bytes_of_one_event() -> None:
    raw = b'{"event_type": "x", "a": 1}'
    assert parse_body(raw, "application/json", max_events=1).events == [raw]


# --- CORS, health, metrics --------------------------------------------------------------

def test_cors_answers_preflight_for_configured_origins_only() -> None:
    h = Harness(_settings(cors_origins=["https://app.example"]))
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}
    with h.client:
        allowed = h.client.options("/v1/events",
                                   headers={"Origin": "https://app.example", **preflight})
        other = h.client.options("/v1/events", headers={"Origin": "https://evil.example",
                                                        **preflight})
        posted = _post(h, encode_event(example("playback.started")),
                       headers={"Origin": "https://app.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert posted.headers["access-control-allow-origin"] == "https://app.example"


def test_no_cors_headers_without_configured_origins(harness: Harness) -> None:
    posted = _post(harness, encode_event(example("playback.started")),
                   headers={"Origin": "https://app.example"})
    assert posted.status_code == 200
    assert "access-control-allow-origin" not in posted.headers


def test_healthz_readyz_and_metrics(harness: Harness) -> None:
    assert harness.client.get("/healthz").status_code == 200
    assert harness.client.get("/readyz").status_code == 200
    harness.producer.up = False
    assert harness.client.get("/readyz").status_code == 503
    _post(harness, orjson.dumps([_wire(example("playback.started")), {"event_type": "x"}]))
    _post(harness, b"{", headers={})
    text = harness.client.get("/metrics").text
    assert 'learnstream_collector_requests_total{outcome="ok",status="200"} 1' in text
    assert 'learnstream_collector_requests_total{outcome="malformed_json",status="400"} 1' in text
    assert 'learnstream_collector_events_total{outcome="accepted",reason=""} 1' in text
    assert ('learnstream_collector_events_total{outcome="rejected",'
            'reason="unknown_event_type"} 1') in text
    assert "learnstream_collector_produce_seconds_count 1" in text
    assert 'learnstream_collector_produce_seconds_bucket{le="0.0025"} 1' in text
    assert "learnstream_collector_in_flight_events 0" in text
