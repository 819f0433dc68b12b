"""Processes the stack owns: pid files, liveness, graceful stop, port and log probes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def spawn_detached(command: list[str], cwd: Path, log_file: Path) -> int:
    """Start ``command`` in a new session with output appended to ``log_file``; return its pid.

    The server is not left as our child: a shell backgrounds it and exits at once, so init
    adopts it. It then outlives this interpreter, never lingers as an unreaped zombie that
    still looks alive, and Python has no Popen object to warn about.
    """
    launcher = 'log="$1"; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!'
    # A new session has no controlling terminal: Ctrl-C in the caller's shell cannot reach it.
    result = subprocess.run(
        ["/bin/sh", "-c", launcher, "sh", str(log_file), *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        start_new_session=True,
    )
    return int(result.stdout.strip())


def is_alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user (postgres when we are root)
    try:
        # Field 3 of /proc/<pid>/stat is the state; the command name before it may hold spaces.
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def command_line(pid: int) -> str:
    """The process's argv joined by spaces ('' if it is gone or unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def owned_pid(pid_file: Path, marker: str) -> int | None:
    """The pid in ``pid_file`` if that process is alive and its command line contains ``marker``.

    The marker guards against pid reuse: after a reboot the number in a stale pid file may
    belong to an unrelated process, which `down` must never signal.
    """
    pid = read_pid(pid_file)
    if pid is None or not is_alive(pid) or marker not in command_line(pid):
        return None
    return pid


def terminate(pid: int, grace_seconds: float) -> None:
    """SIGTERM, wait up to ``grace_seconds`` for a clean exit, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_for(lambda: not is_alive(pid), grace_seconds):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not is_alive(pid), 10.0)


def kill(pid: int, wait_seconds: float = 10.0) -> None:
    """SIGKILL ``pid`` and wait until it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not is_alive(pid), wait_seconds)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(
    condition: Callable[[], bool],
    timeout: float,
    *,
    interval: float = 0.2,
    give_up: Callable[[], bool] = lambda: False,
) -> bool:
    """Poll ``condition``: True once it holds, False after ``timeout`` or once ``give_up`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if give_up() or time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def log_tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])
