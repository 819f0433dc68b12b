"""The JavaScript client (clients/js) against the real collector, Kafka, ingest and
PostgreSQL: in Node, through network errors (the collector not up yet) and a lost answer (the
same batch sent twice); in headless Chromium, through going offline, a reload, coming back
online and a pagehide beacon. Each ends with every event in the log exactly once."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import IO
from urllib.parse import urlencode

import httpx
import pytest

from ingest.topics import ensure_topics
from learnstream.settings import Settings
from testing.collector import make_key, running_collector, wait_ready
from testing.ingest import dead_letter_rows, ingest_until_idle, logged_event_ids
from testing.js import (
    accepted_total,
    built_client,
    chromium,
    free_port,
    last_json_line,
    node,
    static_server,
)

pytestmark = pytest.mark.js


def test_node_client_through_network_errors_503s_and_a_lost_answer_lands_each_event_once(
    kafka_settings: Settings,
) -> None:
    ensure_topics(kafka_settings)
    js = built_client()
    key = make_key(kafka_settings, "backend")
    port = free_port()
    no_kafka = kafka_settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    client = subprocess.Popen(
        [node(), "test/e2e/node-client.mjs"], cwd=js, text=True,
        env={"PATH": _path(), "LS_ENDPOINT": f"http://127.0.0.1:{port}", "LS_KEY": key},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert client.stdout is not None
        assert client.stdout.readline().strip() == "queued"
        _read_until(client.stdout, "retry network")  # nothing listens on the port yet
        # a collector without Kafka: 503 with Retry-After, and the client waits it out
        with running_collector(no_kafka, port=port, retry_after_seconds=1,
                               produce_timeout_seconds=1):
            _read_until(client.stdout, "retry 503")
        with running_collector(kafka_settings, port=port) as (_, url), \
                httpx.Client(timeout=30) as http:
            wait_ready(url, http)
            out, err = client.communicate(timeout=240)
            metrics = http.get(f"{url}/metrics").text
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    assert client.returncode == 0, err[-3000:]
    result = last_json_line(out)
    tracked: list[str] = result["tracked"]
    answers = result["answers"]

    assert "network_error" in answers and 503 in answers  # not up, then no Kafka
    assert answers.count(200) >= 2     # and one 200 was lost, so its batch went again
    assert result["result"]["remaining"] == 0 and result["stats"]["queued"] == 0
    # the invalid event was rejected once, with the collector's reason, and not retried
    assert [(r["event_id"], r["reason"]) for r in result["rejected"]] == [
        (result["bad"], "invalid_field")], result["rejected"]
    # the collector really took some events twice (the lost answer's batch) ...
    assert accepted_total(metrics) > len(tracked)

    ingest_until_idle(kafka_settings)
    logged = logged_event_ids(kafka_settings)
    # ... and the log has every tracked event exactly once, and nothing else
    assert Counter(logged) == Counter(tracked)
    bad = result["bad"].encode()
    dead = [d for d in dead_letter_rows(kafka_settings) if bad in bytes(d["raw"])]
    assert [d["reason"] for d in dead] == ["invalid_field"]


@pytest.mark.browser
def test_browser_offline_reload_online_ends_with_every_event_once(
    kafka_settings: Settings, tmp_path: Path,
) -> None:
    ensure_topics(kafka_settings)
    js = built_client()
    browser = chromium()
    key = make_key(kafka_settings, "web", ("behavior",))
    port = free_port()
    with static_server(js) as site, httpx.Client(timeout=30) as http, \
            contextlib.ExitStack() as collectors:
        cors = json.dumps([site])
        _, url = collectors.enter_context(
            running_collector(kafka_settings, port=port, cors_origins=cors))
        wait_ready(url, http)
        query = urlencode({"endpoint": url, "key": key, "flushAt": 50,
                           "flushIntervalMs": 600_000, "retryMaxMs": 1000})
        stderr = (tmp_path / "browser.stderr").open("w+")
        page = subprocess.Popen(
            [node(), "test/e2e/browser.mjs"], cwd=js, text=True, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=stderr,
            env={"PATH": _path(), "HOME": str(tmp_path), "LS_CHROMIUM": str(browser),
                 "LS_PAGE": f"{site}/examples/player.html?{query}"})
        assert page.stdin is not None and page.stdout is not None
        out: list[str] = []
        metrics = ""
        try:
            for line in page.stdout:
                out.append(line)
                if line.strip() == "stop-collector":
                    collectors.close()  # the collector process is killed: a closed port
                    page.stdin.write("stopped\n")
                    page.stdin.flush()
                elif line.strip() == "start-collector":
                    _, url = collectors.enter_context(
                        running_collector(kafka_settings, port=port, cors_origins=cors))
                    wait_ready(url, http)
                    page.stdin.write("started\n")
                    page.stdin.flush()
            page.wait(timeout=300)
            metrics = http.get(f"{url}/metrics").text  # the second collector's counts
        finally:
            if page.poll() is None:
                page.kill()
                page.wait()
            stderr.seek(0)
            errors = stderr.read()
            stderr.close()
    assert page.returncode == 0, ("".join(out) + errors)[-4000:]
    result = last_json_line("".join(out))
    tracked: list[str] = result["tracked"]
    assert len(tracked) == 10 and len(set(tracked)) == 10
    assert result["final"]["queued"] == 0 and result["final"]["rejected"] == 0
    assert result["storedQueue"] == []  # nothing left in localStorage
    assert not [line for line in result["log"] if line.startswith("pageerror")], result["log"]
    # The second collector got the 7 events tracked from the offline step on, and the two of
    # the last step twice: once from the pagehide beacon, once from the next page load.
    assert accepted_total(metrics) == 7 + 2, (metrics, result)

    ingest_until_idle(kafka_settings)
    assert Counter(logged_event_ids(kafka_settings)) == Counter(tracked)


def _read_until(stream: IO[str], wanted: str) -> None:
    """Reads the client's lines until ``wanted`` (the client's own report of an attempt)."""
    for line in stream:
        if line.strip() == wanted:
            return
    raise AssertionError(f"the client ended before it reported {wanted!r}")


def _path() -> str:
    return os.environ.get("PATH", "/usr/bin:/bin")
