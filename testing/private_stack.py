"""A private Kafka broker and PostgreSQL cluster that a fault test may kill.

The shared local stack must never be killed (other tests and people use it), so fault tests
get their own servers: the same jars and binaries as ``devstack``, the same generated
configuration, but on free ports under a temporary folder and with a small broker heap.

    with private_stack() as stack:
        settings = stack.settings          # points at the private servers, migrated
        stack.kill_kafka(); stack.start_kafka()
        stack.stop_postgres_immediate(); stack.start_postgres()

Cleanup always runs: on leaving the ``with`` block (also on an exception), and, should this
interpreter itself be killed, by a watchdog process that notices its owner is gone (its
stdin pipe closes) and stops both servers and removes the folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from devstack import kafka as _kafka
from devstack import postgres as _postgres
from devstack import process
from devstack.kafka_config import MAIN_CLASS, KafkaLayout
from devstack.postgres_config import ADMIN_ROLE, DATABASE, LISTEN_ADDRESS, PostgresLayout
from learnstream.db import migrate
from learnstream.settings import Settings

__all__ = ["PRIVATE_HEAP", "PrivateStack", "free_ports", "private_stack", "reap"]

#: Enough for one node holding a few million small events; the stack's broker has 768 MB.
PRIVATE_HEAP = ("-Xmx320m", "-Xms128m")
_PREFIX = "ls-private-"
#: How long the postmaster gets to end its backends after SIGQUIT before it is SIGKILLed.
_QUIT_GRACE_SECONDS = 10.0


def free_ports(count: int, host: str = LISTEN_ADDRESS) -> list[int]:
    """``count`` distinct TCP ports nothing listens on now (the kernel's picks)."""
    with contextlib.ExitStack() as held:
        probes = [held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                  for _ in range(count)]
        # All bound at once, so the kernel cannot hand out one port twice.
        for probe in probes:
            probe.bind((host, 0))
        return [int(probe.getsockname()[1]) for probe in probes]


class PrivateStack:
    """One private broker and one private PostgreSQL cluster under ``root``."""

    def __init__(self, root: Path, base: Settings, console: Console | None = None) -> None:
        self.root = root
        self.console = console or Console(stderr=True, quiet=True)
        broker_port, controller_port, pg_port = free_ports(3)
        self.kafka = KafkaLayout(
            root / "kafka",
            broker_port=broker_port,
            controller_port=controller_port,
            heap=PRIVATE_HEAP,
            # The local stack's jars (fetched by Maven once), not a second copy.
            libs_dir=KafkaLayout.for_stack(base.devstack.dir).libs,
        )
        self.postgres = PostgresLayout(root / "postgres", port=pg_port)
        self.settings = base.model_copy(
            update={
                "kafka_bootstrap": self.kafka.bootstrap,
                "database_url": (
                    f"postgresql://{ADMIN_ROLE}@{self.postgres.address}/{DATABASE}"
                ),
            }
        )

    def start(self) -> None:
        """Start both servers (initialising them the first time) and migrate the database."""
        # The JVM's start-up is the longer wait; the database is set up meanwhile.
        broker = ThreadPoolExecutor(max_workers=1)
        started = broker.submit(self.start_kafka)
        try:
            self.start_postgres()
            migrate(self.settings)
        finally:
            broker.shutdown(wait=True)
        started.result()

    def start_kafka(self) -> None:
        _kafka.start(self.kafka, self.console)

    def kill_kafka(self) -> None:
        """SIGKILL the broker."""
        _kafka.kill(self.kafka)

    def start_postgres(self) -> None:
        _postgres.start(self.postgres, self.console)

    def stop_postgres_immediate(self) -> None:
        """``pg_ctl stop -m immediate``: no checkpoint, WAL recovery on the next start."""
        _postgres.stop(self.postgres, mode="immediate")

    def kafka_pid(self) -> int | None:
        return _kafka.status(self.kafka).pid

    def postgres_pid(self) -> int | None:
        return _postgres.status(self.postgres).pid

    def close(self) -> None:
        """Stop both servers, whatever state they are in, and delete their files."""
        reap(self.root)


def reap(root: Path) -> None:
    """Kill the broker and the postmaster recorded under ``root``, then remove ``root``.

    Works from the pid files alone (no ports, no settings), so the watchdog can run it.
    """
    kafka = KafkaLayout(root / "kafka")
    broker = process.owned_pid(kafka.pid_file, f"{MAIN_CLASS} {kafka.config}")
    if broker:
        process.kill(broker)
    layout = PostgresLayout(root / "postgres")
    postmaster = process.owned_pid(layout.pid_file, str(layout.data))
    if postmaster:
        # SIGQUIT is an immediate shutdown: the postmaster ends its own backends first,
        # which a SIGKILL would leave to notice its death on their own.
        with contextlib.suppress(ProcessLookupError):
            os.kill(postmaster, signal.SIGQUIT)
        if not process.wait_for(lambda: not process.is_alive(postmaster), _QUIT_GRACE_SECONDS):
            process.kill(postmaster)
    shutil.rmtree(root, ignore_errors=True)


def _start_watchdog(root: Path) -> subprocess.Popen[bytes]:
    # Its own session: a Ctrl-C meant for the owner must not end the watchdog before it
    # cleans up after it.
    return subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from testing.private_stack import _watch; _watch(sys.argv[1])", str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=Path(__file__).resolve().parent.parent,
    )


@contextmanager
def private_stack(base: Settings | None = None, console: Console | None = None) -> Iterator[
    PrivateStack
]:
    """A started :class:`PrivateStack`; both servers are gone and its folder deleted after."""
    # A short path: the postmaster's Unix socket path must fit in 107 bytes.
    root = Path(tempfile.mkdtemp(prefix=_PREFIX, dir="/tmp"))
    # PostgreSQL runs as the `postgres` account when we are root; it must enter the folder.
    root.chmod(0o755)
    watchdog = _start_watchdog(root)
    stack = PrivateStack(root, base or Settings(), console)
    try:
        stack.start()
        yield stack
    finally:
        stack.close()
        assert watchdog.stdin is not None
        watchdog.stdin.close()
        try:
            watchdog.wait(timeout=30)
        except subprocess.TimeoutExpired:
            watchdog.kill()
            watchdog.wait()


def _watch(root: str) -> None:
    """Block until the owner's pipe closes (it finished, or it died), then :func:`reap`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdin.buffer.read()
    folder = Path(root)
    if folder.name.startswith(_PREFIX):
        reap(folder)

