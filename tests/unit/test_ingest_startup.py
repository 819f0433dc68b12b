"""Starting against nothing: each retry logged, then one error after the bound (no servers;
the real subprocess runs are in tests/integration/test_ingest_unreachable.py)."""

from __future__ import annotations

import logging

import pytest

import ingest.startup as startup
from learnstream.errors import BrokerUnavailable, DatabaseUnavailable
from learnstream.settings import Settings

SETTINGS = Settings(
    kafka_bootstrap="127.0.0.1:9", database_url="postgresql://x@127.0.0.1:9/x",
    ingest={"startup_timeout_seconds": 10},
)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_unreachable_broker_is_retried_with_a_log_line_then_fails_after_the_bound(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeTime()

    def refuse(settings: Settings, partitions: int) -> list[str]:
        fake.now += 1.0  # each attempt takes a second
        raise BrokerUnavailable("cannot reach Kafka admin: Unable to bootstrap")

    monkeypatch.setattr(startup, "ensure_topics", refuse)
    checked: list[Settings] = []
    monkeypatch.setattr(startup, "_check_database", checked.append)
    with caplog.at_level(logging.INFO, "learnstream.ingest"), \
            pytest.raises(BrokerUnavailable) as raised:
        startup.wait_for_services(SETTINGS, partitions=3, sleep=fake.sleep, clock=fake.clock)

    retries = [r for r in caplog.records if r.getMessage() == "Kafka unreachable; retrying"]
    attempts = len(retries) + 1
    assert attempts >= 3
    assert [getattr(r, "attempt") for r in retries] == list(range(1, attempts))  # noqa: B009
    assert 10 <= fake.now <= 10 + 1.0  # gave up at the bound, overshooting by one attempt
    message = str(raised.value)
    assert "Kafka at 127.0.0.1:9" in message and f"{attempts} attempts" in message
    assert "LEARNSTREAM_INGEST__STARTUP_TIMEOUT_SECONDS" in message
    assert "Unable to bootstrap" in message
    assert checked == [], "the database is not tried before the topics exist"


def test_a_database_that_comes_up_in_time_is_used(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeTime()
    answers = iter([DatabaseUnavailable("refused"), DatabaseUnavailable("refused"), None])

    def check(settings: Settings) -> None:
        answer = next(answers)
        if answer is not None:
            raise answer

    monkeypatch.setattr(startup, "ensure_topics", lambda settings, partitions: [])
    monkeypatch.setattr(startup, "_check_database", check)
    with caplog.at_level(logging.INFO, "learnstream.ingest"):
        startup.wait_for_services(SETTINGS, partitions=3, sleep=fake.sleep, clock=fake.clock)
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("PostgreSQL unreachable; retrying") == 2
    assert "PostgreSQL reachable" in messages
    assert fake.sleeps == [0.5, 1.0]


def test_an_unreachable_database_fails_with_its_address(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeTime()

    def refuse(settings: Settings) -> None:
        raise DatabaseUnavailable("connection refused")

    monkeypatch.setattr(startup, "ensure_topics", lambda settings, partitions: [])
    monkeypatch.setattr(startup, "_check_database", refuse)
    with pytest.raises(DatabaseUnavailable, match=r"PostgreSQL at 127\.0\.0\.1:9/x"):
        startup.wait_for_services(SETTINGS, partitions=3, sleep=fake.sleep, clock=fake.clock)
    assert sum(fake.sleeps) == pytest.approx(10)
