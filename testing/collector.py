"""Helpers for tests and benchmarks that run the collector as a real process."""

from __future__ import annotations

import contextlib
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from collector.keys import create_key
from learnstream.db import connect
from learnstream.settings import Settings
from testing.ingest import REPO_ROOT, ingest_env


def make_key(settings: Settings, app: str = "web", families: tuple[str, ...] = ()) -> str:
    """A new write key for ``app`` in ``settings``' database."""
    with connect(settings) as conn:
        _, key = create_key(conn, app, families)
        conn.commit()
    return key


def collector_env(settings: Settings, **collector: object) -> dict[str, str]:
    """The environment of a ``learnstream collect`` process using ``settings``, with
    ``LEARNSTREAM_COLLECTOR__<NAME>`` for each keyword."""
    env = ingest_env(settings)
    for name, value in collector.items():
        env[f"LEARNSTREAM_COLLECTOR__{name.upper()}"] = str(value)
    return env


@contextlib.contextmanager
def running_collector(
    settings: Settings, *, port: int = 0, startup_timeout: float = 60.0, **collector: object
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``learnstream collect --port PORT`` (0: any free one) as a child process; yields it
    and its base URL (read from its "listening on" line). Killed on exit."""
    command = [sys.executable, "-c", "from app.cli import main; main()", "collect",
               "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=collector_env(settings, **collector),
                               cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield process, _base_url(process, startup_timeout)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _base_url(process: subprocess.Popen[bytes], timeout: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline().decode()
            if line.startswith("listening on "):
                return line.removeprefix("listening on ").strip()
            if not line and process.poll() is not None:
                break
    stderr = b"" if process.stderr is None else process.stderr.read()
    raise RuntimeError(f"the collector did not start: {stderr.decode()[-2000:]}")


def wait_ready(url: str, client: Any, timeout: float = 60.0) -> None:
    """Poll ``/readyz`` until the collector has a Kafka connection."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(f"{url}/readyz").status_code == 200:
            return
        time.sleep(0.2)
    raise RuntimeError("the collector never became ready")
