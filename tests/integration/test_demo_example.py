"""``learnstream demo --serve-example`` as a user runs it: the pipeline, then the JavaScript
client's example page served with the collector, a fresh key and ingest; the page used with
its buttons in headless Chromium; every event it tracked in the log exactly once while it
runs; Ctrl-C ends it with exit 0, a summary and the key revoked."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from collector.keys import list_keys
from learnstream.db import connect
from learnstream.settings import Settings
from testing.ingest import REPO_ROOT, ingest_env, logged_event_ids
from testing.js import built_client, chromium, last_json_line, node

pytestmark = [pytest.mark.js, pytest.mark.browser]

PREFIX = "example page: "


def test_demo_serves_the_example_page_until_ctrl_c_and_its_events_land_once(
    kafka_settings: Settings, tmp_path: Path,
) -> None:
    js = built_client()
    env = ingest_env(kafka_settings) | {
        "LEARNSTREAM_COLLECTOR__PORT": "0",  # any free port; the printed address names it
        "LEARNSTREAM_WAREHOUSE__DIR": str(tmp_path / "warehouse"),
        "LEARNSTREAM_DEVSTACK__DIR": str(tmp_path / "stack"),
        "COLUMNS": "200",
    }
    command = [sys.executable, "-c", "from app.cli import main; main()", "demo",
               "--learners", "2", "--days", "1", "--serve-example", "--example-port", "0"]
    demo = subprocess.Popen(command, cwd=REPO_ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(demo, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        url = _read_address(lines, seen, timeout=600)
        page = subprocess.run(
            [node(), "test/e2e/example-page.mjs"], cwd=js, text=True, capture_output=True,
            timeout=180, env={"PATH": env["PATH"], "HOME": str(tmp_path),
                              "LS_CHROMIUM": str(chromium()), "LS_PAGE": url})
        assert page.returncode == 0, (page.stdout + page.stderr)[-4000:]
        result = last_json_line(page.stdout)
        tracked = [t["id"] for t in result["tracked"]]
        assert [t["type"] for t in result["tracked"]][:3] == [
            "playback.started", "playback.paused", "playback.seeked"], result
        assert {"playback.resumed", "playback.completed"} <= {t["type"] for t in result["tracked"]}
        assert len(set(tracked)) == len(tracked)
        assert result["errors"] == [] and result["stats"]["queued"] == 0
        # "Log in" sends learner.identified, a catalog event the browser key may not send
        assert any("learner.identified: forbidden" in line for line in result["log"]), result

        # The demo's own ingest brings them to the log while the page is served.
        deadline = time.monotonic() + 120
        while True:
            logged = Counter(logged_event_ids(kafka_settings))
            if all(logged[event_id] for event_id in tracked) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert {event_id: logged[event_id] for event_id in tracked} == dict.fromkeys(tracked, 1)

        demo.send_signal(signal.SIGINT)  # what Ctrl-C sends
        demo.wait(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        reader.join(timeout=30)
    while (line := lines.get_nowait() if not lines.empty() else None) is not None:
        seen.append(line)
    output = "".join(seen)
    # Exit 0 after Ctrl-C; 1 only when a step of the pipeline before had failed, which the
    # page does not need (the warehouse export finds nothing below the xmin horizon while
    # another client of the server holds a long transaction) and which the summary names.
    pipeline_failed = [line for line in output.splitlines() if " failed: " in line]
    assert demo.returncode == (1 if pipeline_failed else 0), output[-4000:]
    summary = [line for line in output.splitlines() if line.startswith("example: ")]
    assert summary == [
        f"example: {len(tracked)} events accepted by the collector (0 rejected, 1 forbidden); "
        f"{len(tracked)} new in the log, 0 duplicates collapsed"], output[-3000:]
    assert "Traceback" not in output
    with connect(kafka_settings) as conn:
        keys = list_keys(conn, "demo-example")
    assert len(keys) == 1 and keys[0].revoked_at is not None  # each run's key ends with it


def _read_lines(demo: subprocess.Popen[str], into: queue.Queue[str | None]) -> None:
    assert demo.stdout is not None
    for line in demo.stdout:
        into.put(line)
    into.put(None)


def _read_address(lines: queue.Queue[str | None], seen: list[str], timeout: float) -> str:
    """The page's address from the demo's one line, once everything listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if line.startswith(PREFIX):
            return line.removeprefix(PREFIX).strip()
    raise AssertionError(f"the demo printed no page address: {''.join(seen)[-4000:]}")
