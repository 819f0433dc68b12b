"""Crashes, shutdowns and database outages lose nothing and duplicate nothing."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ingest.emitter import produce
from learnstream.db import connect, libpq_url
from learnstream.settings import Settings
from testing.ingest import ingest_until_idle, logged_event_ids, start_ingest_process
from tests.examples import all_examples, example


def _events(n: int) -> list[Any]:
    kinds = ["playback.heartbeat", "content.liked", "lesson.position", "assessment.submitted",
             "content.requested", "preferences.updated"]
    return [example(kinds[i % len(kinds)], learner_id=f"learner-{i % 37}") for i in range(n)]


def _log_count(settings: Settings) -> int:
    try:
        return len(logged_event_ids(settings))
    except psycopg.OperationalError:
        return -1


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _finish(process: subprocess.Popen[bytes], timeout: float = 90) -> tuple[int, str]:
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"ingest did not finish:\n{err.decode()[-3000:]}") from None
    return process.returncode, err.decode()


def test_sigkill_mid_stream_then_restart_gives_exactly_the_sent_events(
    kafka_settings: Settings,
) -> None:
    settings = kafka_settings.with_part(ingest={"batch_max_records": 25})
    events = _events(3000)
    produce(settings, events)

    first = start_ingest_process(settings, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _log_count(settings) > 0, 60, "the first rows")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    written_before_kill = _log_count(settings)
    assert 0 < written_before_kill < len(events), "the kill should land mid-stream"

    second = start_ingest_process(settings, "--until-idle", "2",
                                  stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    code, err = _finish(second)

    assert code == 0, err[-3000:]
    ids = logged_event_ids(settings)
    assert len(ids) == len(set(ids))
    assert set(ids) == {str(e.event_id) for e in events}


def test_sigterm_finishes_the_batch_commits_and_exits_zero(kafka_settings: Settings) -> None:
    settings = kafka_settings.with_part(ingest={"batch_max_records": 25})
    events = _events(2000)
    produce(settings, events)

    process = start_ingest_process(settings, stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    _wait_for(lambda: _log_count(settings) > 0, 60, "the first rows")
    process.send_signal(signal.SIGTERM)
    code, err = _finish(process, timeout=60)
    assert code == 0, err[-3000:]
    written = _log_count(settings)

    # Everything the first process wrote had its offsets committed: a new consumer in the
    # same group sees none of it again (no duplicates), and brings the rest.
    rest = ingest_until_idle(settings)

    assert rest.duplicates == 0
    assert rest.inserted == len(events) - written
    assert set(logged_event_ids(settings)) == {str(e.event_id) for e in events}


def _set_connections(settings: Settings, allowed: bool) -> None:
    url = libpq_url(settings.resolved_database_url)
    name = str(conninfo_to_dict(url)["dbname"])
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                sql.Identifier(name), sql.SQL("true" if allowed else "false")
            )
        )
        if not allowed:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )


def test_database_outage_is_waited_out_without_loss(kafka_settings: Settings) -> None:
    settings = kafka_settings.with_part(
        ingest={"batch_max_records": 50, "retry_max_seconds": 0.5}
    )
    before = all_examples()
    produce(settings, before)
    process = start_ingest_process(settings, "--until-idle", "2",
                                   stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        _wait_for(lambda: _log_count(settings) == len(before), 60, "the first events")
        _set_connections(settings, allowed=False)
        during = _events(500)
        produce(settings, during)
        time.sleep(4)  # the consumer keeps retrying the same batch meanwhile
        assert process.poll() is None, "the consumer must wait, not exit"
    finally:
        _set_connections(settings, allowed=True)
    code, err = _finish(process)

    assert code == 0, err[-3000:]
    assert "database unavailable" in err
    ids = logged_event_ids(settings)
    assert len(ids) == len(set(ids))
    assert set(ids) == {str(e.event_id) for e in before + during}
    with connect(settings) as conn:
        row = conn.execute("SELECT count(*) FROM log.dead_letters").fetchone()
    assert row is not None and row[0] == 0


def test_static_member_restarted_after_sigkill_takes_its_partitions_back(
    kafka_settings: Settings,
) -> None:
    # The worker is killed after committing everything it had, so every event produced
    # afterwards can only land through the restarted process rejoining under the same
    # group.instance.id. (How fast it does is measured in bench/ingest_restart.py.)
    settings = kafka_settings.with_part(ingest={"instance_id": "worker-a"})
    before, after = _events(600), _events(600)
    produce(settings, before)
    first = start_ingest_process(settings, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _log_count(settings) == len(before), 60, "the first events")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    produce(settings, after)

    second = start_ingest_process(settings, "--until-idle", "2",
                                  stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    code, err = _finish(second)

    assert code == 0, err[-3000:]
    assert '"group_instance_id":"worker-a"' in err
    ids = logged_event_ids(settings)
    assert len(ids) == len(set(ids))
    assert set(ids) == {str(e.event_id) for e in before + after}
