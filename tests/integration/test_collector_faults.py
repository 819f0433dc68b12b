"""The collector while its broker dies and comes back (issue 9), on a private stack: the
shared broker is never killed."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import IO, Any

import httpx

from ingest.topics import ensure_topics
from learnstream.contracts import encode_event
from learnstream.settings import Settings
from testing.collector import make_key, running_collector, wait_ready
from testing.ingest import logged_event_ids, start_ingest_process
from testing.private_stack import private_stack
from tests.examples import example

CLIENTS = 3
BATCHES_PER_CLIENT = 40
BATCH = 20


def _drain(stream: IO[bytes] | None) -> None:
    """Read a child's pipe to its end: a full pipe would block the collector's logging."""
    if stream is None:
        return
    with contextlib.suppress(ValueError, OSError):  # closed when the collector is stopped
        for _ in iter(lambda: stream.read(65536), b""):
            pass


class Client(threading.Thread):
    """Sends its batches in order; each one again (same event_ids) until it gets a 200."""

    def __init__(self, url: str, key: str, kinds: list[str]) -> None:
        super().__init__(daemon=True)
        self.url, self.key = url, key
        self.batches = [[example(kinds[(b + i) % len(kinds)], learner_id=f"l-{uuid.uuid4()}")
                         for i in range(BATCH)] for b in range(BATCHES_PER_CLIENT)]
        self.acknowledged: list[str] = []
        self.statuses: list[int] = []
        self.errors = 0
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.Client(timeout=15) as http:
                for batch in self.batches:
                    self._send_until_accepted(http, batch)
        except BaseException as failure:  # reported by the test, not lost in the thread
            self.failure = failure

    def _send_until_accepted(self, http: httpx.Client, batch: list[Any]) -> None:
        body = b"[" + b",".join(encode_event(e) for e in batch) + b"]"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                answer = http.post(f"{self.url}/v1/events", content=body, headers={
                    "Authorization": f"Bearer {self.key}", "Content-Type": "application/json"})
            except httpx.HTTPError:
                self.errors += 1
                time.sleep(0.5)
                continue
            self.statuses.append(answer.status_code)
            if answer.status_code == 200:
                results = answer.json()["results"]
                assert all(r["status"] == "accepted" for r in results), results
                self.acknowledged += [r["event_id"] for r in results]
                return
            assert answer.status_code == 503, answer.text
            time.sleep(float(answer.headers["Retry-After"]))
        raise AssertionError("a batch was never accepted")

    def sent(self) -> Iterator[str]:
        return (str(e.event_id) for batch in self.batches for e in batch)


def _accepted(clients: list[Client]) -> int:
    return sum(len(c.acknowledged) for c in clients)


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_kafka_killed_while_clients_send_503s_then_retries_land_exactly_the_accepted_set() -> (
    None
):
    kinds = ["playback.heartbeat", "content.liked", "lesson.position", "assessment.submitted"]
    with private_stack() as stack:
        tag = uuid.uuid4().hex[:8]
        settings: Settings = stack.settings.with_part(
            topic_namespace=f"c{tag}.", ingest={"consumer_group": f"collector-faults-{tag}"})
        ensure_topics(settings)
        key = make_key(settings, "backend")
        collector = running_collector(settings, produce_timeout_seconds=2, retry_after_seconds=1)
        with collector as (process, url), httpx.Client(timeout=30) as http:
            for pipe in (process.stdout, process.stderr):
                threading.Thread(target=_drain, args=(pipe,), daemon=True).start()
            wait_ready(url, http)
            clients = [Client(url, key, kinds) for _ in range(CLIENTS)]
            for client in clients:
                client.start()
            _wait(lambda: _accepted(clients) >= 10 * BATCH, 60, "the first accepted batches")

            stack.kill_kafka()
            _wait(lambda: sum(c.statuses.count(503) for c in clients) >= CLIENTS, 60,
                  "503s while the broker is down")
            accepted_while_down = _accepted(clients)
            time.sleep(2)
            stuck_while_down = _accepted(clients) - accepted_while_down
            stack.start_kafka()

            for client in clients:
                client.join(timeout=240)
            alive_after = process.poll() is None

        for client in clients:
            assert client.failure is None, repr(client.failure)
        assert alive_after, "the collector must outlive its broker's restart"
        # Nothing is acknowledged without a broker to make it durable.
        assert stuck_while_down == 0
        acknowledged = [i for c in clients for i in c.acknowledged]
        sent = [i for c in clients for i in c.sent()]
        assert len(acknowledged) == len(set(acknowledged)) == len(sent)

        ingest = start_ingest_process(settings, "--until-idle", "3",
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, err = ingest.communicate(timeout=180)
        assert ingest.returncode == 0, err.decode()[-3000:]
        logged = logged_event_ids(settings)

    assert len(logged) == len(set(logged)), "duplicate rows"
    assert set(logged) == set(acknowledged) == set(sent)
