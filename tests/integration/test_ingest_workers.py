"""Scale-out: two `learnstream ingest` processes in one consumer group (what docs/ingest.md's
"Running several workers" tells a user to run on two machines) share every topic's
partitions and land each event exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from kafka.admin import KafkaAdminClient

from ingest.consumer import consumer_group_for
from ingest.emitter import produce
from ingest.topics import ensure_topics
from learnstream.contracts import Topic
from learnstream.db import connect
from learnstream.settings import Settings
from testing.ingest import REPO_ROOT, ingest_env
from tests.examples import example


def _worker(settings: Settings, name: str) -> subprocess.Popen[bytes]:
    env = ingest_env(settings) | {"LEARNSTREAM_INGEST__INSTANCE_ID": name}
    return subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()", "ingest"],
                            env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _logged(settings: Settings) -> list[str]:
    with connect(settings) as conn:
        return [str(r[0]) for r in conn.execute(
            "SELECT event_id FROM log.behavioral_events UNION ALL "
            "SELECT event_id FROM log.like_events")]


def _members(settings: Settings, topic: Topic) -> list[Any]:
    admin = KafkaAdminClient(bootstrap_servers=settings.resolved_kafka_bootstrap)
    try:
        name = consumer_group_for(settings, topic)
        group: dict[str, Any] = admin.describe_groups([name])[name]
        return list(group.get("members") or [])
    finally:
        admin.close()


def test_two_workers_share_the_partitions_and_land_each_event_once(
    kafka_settings: Settings,
) -> None:
    settings = kafka_settings.with_part(ingest={"batch_max_records": 50})
    ensure_topics(settings)
    workers = [_worker(settings, "worker-a"), _worker(settings, "worker-b")]
    try:
        # Both in the group before the events come, so each gets partitions of its own.
        deadline = time.monotonic() + 90  # a bound on a hang, not a speed target
        while len(_members(settings, Topic.BEHAVIOR)) < 2:
            assert time.monotonic() < deadline, "the two workers never both joined"
            assert all(w.poll() is None for w in workers), "a worker exited"
            time.sleep(0.5)
        events = [example("playback.heartbeat" if i % 3 else "content.liked",
                          learner_id=f"learner-{i % 41}") for i in range(3000)]
        produce(settings, events)
        produce(settings, events[:500])  # a client's retry: duplicates, on both workers
        while len(_logged(settings)) < len(events):
            assert time.monotonic() < deadline + 120, "the events never all landed"
            time.sleep(0.5)
        members = _members(settings, Topic.BEHAVIOR)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [w.wait(timeout=60) for w in workers]
    assert codes == [0, 0], [w.stderr.read().decode()[-2000:] for w in workers if w.stderr]
    assert {m["group_instance_id"] for m in members} == {"worker-a", "worker-b"}
    held = [sorted(p for a in m["member_assignment"]["assigned_partitions"]
                   for p in a["partitions"]) for m in members]
    assert all(held) and sorted(p for h in held for p in h) == [0, 1, 2], held  # split
    logged = _logged(settings)
    assert Counter(logged) == Counter(str(e.event_id) for e in events)  # once each


def test_one_command_runs_n_workers_that_land_each_event_once(kafka_settings: Settings) -> None:
    """`learnstream ingest --workers 2`: two member processes under one command, each with
    its own static-membership name, one merged summary, every event once."""
    settings = kafka_settings.with_part(ingest={"batch_max_records": 100,
                                                "instance_id": "box"})
    ensure_topics(settings)
    events = [example("playback.heartbeat" if i % 3 else "content.liked",
                      learner_id=f"learner-{i % 41}") for i in range(2000)]
    produce(settings, events)
    command = [sys.executable, "-c", "from app.cli import main; main()", "ingest",
               "--workers", "2"]
    process = subprocess.Popen(command, env=ingest_env(settings), cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120  # a bound on a hang, not a speed target
        members: list[Any] = []
        while len(_logged(settings)) < len(events) or len(members) < 2:
            assert time.monotonic() < deadline, "the events never all landed"
            assert process.poll() is None, process.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            members = _members(settings, Topic.BEHAVIOR)
            time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=90)
    assert process.returncode == 0, err.decode()[-2000:]
    assert {m["group_instance_id"] for m in members} == {"box-0", "box-1"}
    assert Counter(_logged(settings)) == Counter(str(e.event_id) for e in events)
    # The summary adds up both workers: every event inserted once between them.
    total = [line for line in out.decode().splitlines() if "total" in line]
    assert total and total[0].split("│")[3].strip() == str(len(events)), out.decode()


def test_a_worker_that_dies_stops_the_command_with_one_line(kafka_settings: Settings) -> None:
    """A worker killed outright: the others stop gracefully and the command exits 1 naming
    it (the service manager restarts the command; the uncommitted batches come again)."""
    import json
    import os

    settings = kafka_settings.with_part(ingest={"instance_id": "box"})
    ensure_topics(settings)
    command = [sys.executable, "-c", "from app.cli import main; main()", "ingest",
               "--workers", "2"]
    process = subprocess.Popen(command, env=ingest_env(settings), cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stderr is not None
    pids: list[int] = []
    for line in process.stderr:
        if line.startswith(b"{") and json.loads(line).get("msg") == "ingest workers started":
            pids = json.loads(line)["pids"]
            break
    assert len(pids) == 2
    os.kill(pids[1], signal.SIGKILL)
    _, err = process.communicate(timeout=90)
    assert process.returncode == 1
    assert "ingest worker box-1 failed: exited with code -9 without a summary" in err.decode()
    assert "Traceback" not in err.decode()
