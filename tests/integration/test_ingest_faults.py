"""The fault run (bench/ingest_faults.py) on a small stream, and the private stack it runs on.

Nothing here touches the shared local stack: every broker and database that is killed is a
private one (testing.private_stack). The 1M-event run is `python -m bench.ingest_faults`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.ingest_faults import FAULTS, run_faults
from devstack import postgres as postgres_component
from devstack.process import is_alive, wait_for
from learnstream.settings import LOCAL_PG_PORT
from testing.private_stack import private_stack

EVENTS = 12_000
REFUSED_EVERY = 250


def _server_pids(root: Path) -> list[int]:
    """Every live process whose command line names ``root`` (broker, postmaster)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if str(root).encode() in command and is_alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def test_every_fault_leaves_exactly_the_sent_events_and_their_dead_letters() -> None:
    rounds = run_faults(EVENTS, refused_every=REFUSED_EVERY, show_progress=False)

    assert [r.fault for r in rounds] == list(FAULTS)
    assert rounds[-1].events == EVENTS
    assert rounds[-1].refused == EVENTS // REFUSED_EVERY
    for r in rounds:
        assert (r.lost, r.duplicated, r.unexpected) == (0, 0, 0), r
        assert (r.dead_letters_missing, r.dead_letters_wrong) == (0, 0), r
        assert r.recovery_s is not None, f"{r.fault}: the log never grew after the repair"
    rebalance = rounds[-1]
    assert any("exited 0" in note and "committed 0 " not in note for note in rebalance.notes), (
        rebalance.notes
    )


def test_private_stack_is_its_own_and_is_gone_after_a_failure() -> None:
    root = None
    with pytest.raises(RuntimeError, match="test failure"), private_stack() as stack:
        root = stack.root
        assert stack.postgres.port != LOCAL_PG_PORT
        assert stack.kafka.broker_port != 9092
        assert stack.kafka_pid() is not None
        assert postgres_component.answers(stack.settings.resolved_database_url)
        raise RuntimeError("test failure")

    assert root is not None
    assert not root.exists()
    assert _server_pids(root) == []


_OWNER = """
import sys, time
from testing.private_stack import private_stack
with private_stack() as stack:
    print(stack.root, flush=True)
    time.sleep(600)
"""


def test_watchdog_removes_the_stack_of_an_owner_killed_with_sigkill() -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert owner.stdout is not None
    try:
        root = Path(owner.stdout.readline().decode().strip())
        assert root.name.startswith("ls-private-") and root.is_dir(), "no stack started"
        assert len(_server_pids(root)) >= 2  # the broker and the postmaster at least
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 60
    assert wait_for(lambda: not _server_pids(root) and not root.exists(),
                    deadline - time.monotonic(), interval=0.5), _server_pids(root)
