"""Helpers for the tests of the JavaScript client (clients/js): Node and npm, the built
package, a static server for its example page, a collector on a chosen port."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from testing.ingest import REPO_ROOT

JS_DIR = REPO_ROOT / "clients" / "js"
CHROMIUM = Path(os.environ.get("LS_CHROMIUM", "/usr/bin/chromium"))
_SETUP = "scripts/js-setup.sh (scripts/test.sh runs it) installs it"


def node() -> str:
    """The node executable; a missing one fails the test (it must not skip silently)."""
    found = shutil.which("node")
    if found is None or shutil.which("npm") is None:
        raise RuntimeError(f"node and npm are needed for the JavaScript client's tests: {_SETUP}")
    return found


def built_client() -> Path:
    """Installs the locked dev dependencies when missing and compiles the client; returns
    clients/js."""
    node()
    npm = shutil.which("npm")
    assert npm is not None
    lock = JS_DIR / "package-lock.json"
    stamp = JS_DIR / "node_modules" / ".package-lock.json"
    if not stamp.exists() or lock.stat().st_mtime > stamp.stat().st_mtime:
        _run([npm, "ci", "--no-audit", "--no-fund"])
    _run([npm, "run", "--silent", "build"])
    return JS_DIR


def _run(command: list[str]) -> None:
    done = subprocess.run(command, cwd=JS_DIR, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {(done.stdout + done.stderr)[-3000:]}")


def chromium() -> Path:
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is needed for the browser test: {_SETUP}")
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def static_server(directory: Path) -> Iterator[str]:
    """``directory`` over HTTP on a free loopback port; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def last_json_line(text: str) -> Any:
    """The last line of a script's output that is a JSON object."""
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError(f"no JSON result in the output: {text[-2000:]}")


def accepted_total(metrics: str) -> int:
    """Events the collector accepted, from its /metrics text."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("learnstream_collector_events_total{") and 'outcome="accepted"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)
