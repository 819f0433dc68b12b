"""The async state API against a real store: the async client returns exactly what the sync
client returns (known and cold-start learners), as the read-only role, and HTTP serves it."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import socket
import subprocess
import sys
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from learner_model.model.fit import FitConfig
from learner_model.projection import LearnerModelProjection
from learner_model.serving.async_client import AsyncLearnerStateClient
from learner_model.serving.client import LearnerStateClient, LearnerStateResponse
from learner_model.serving.service import create_app
from learner_model.training import fit_from_log
from learnstream.contracts import AssessmentSubmitted, AssessmentSubmittedPayload, Envelope
from learnstream.db import connect
from learnstream.settings import Settings
from projections.runner import project_until_caught_up
from testing.ingest import REPO_ROOT
from tests.integration.api_support import bearer
from tests.integration.projection_support import append

T0 = datetime(2025, 3, 1, tzinfo=UTC)
LEARNERS = ("a0", "a1", "a2")


def _answers(per: int = 12) -> list[Envelope]:
    rng = random.Random(11)
    return [
        AssessmentSubmitted(
            event_id=uuid.uuid4(), occurred_at=T0 + timedelta(minutes=k), session_id=f"s-{lid}",
            learner_id=lid, payload=AssessmentSubmittedPayload(
                assessment_id=f"q{k % 4}", skills=["sk"], score=float(rng.random() < 0.6),
                max_score=1, attempt_number=1))
        for k in range(per) for lid in LEARNERS]


@pytest.fixture
def served(db_settings: Settings) -> Settings:
    events = _answers()
    append(db_settings, events)
    with connect(db_settings) as conn:
        fit_from_log(conn, FitConfig())
        conn.commit()
    for _ in range(50):  # other sessions on the shared server can hold new rows back briefly
        project_until_caught_up(db_settings, [LearnerModelProjection()])
        with connect(db_settings) as conn:
            row = conn.execute("SELECT count(*) FROM read.learner_model_state").fetchone()
        if row and row[0] == len(LEARNERS):
            break
    return db_settings


def test_async_client_matches_sync_client(served: Settings) -> None:
    ids = ["a0", "a2", "stranger", "a0"]
    with LearnerStateClient(served) as sync:
        expected = sync.get_many(ids)

    async def read() -> tuple[list[LearnerStateResponse], LearnerStateResponse]:
        async with AsyncLearnerStateClient(served) as client:
            return await client.get_many(ids), await client.get("a1")

    got, one = asyncio.run(read())
    assert got == expected
    # One state per requested id, in request order: the repeated "a0" is answered twice.
    assert [s.learner_id for s in got] == ids
    assert got[0] == got[3]
    assert got[0].outcomes == 12 and not got[0].cold_start
    assert got[2].cold_start and got[2].outcomes == 0
    assert one.learner_id == "a1" and one.outcomes == 12


def test_async_pool_connections_are_read_only(served: Settings) -> None:
    async def write() -> None:
        # The client's own pool (private): the point is the role its connections run as.
        async with AsyncLearnerStateClient(served) as client, client._pool.connection() as conn:
            cur = await conn.execute("SELECT current_user")
            assert (await cur.fetchone()) == ("learnstream_api",)
            await conn.execute("DELETE FROM read.learner_model_state")

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        asyncio.run(write())


def test_http_serves_the_same_states(served: Settings) -> None:
    with LearnerStateClient(served) as sync:
        a1, nobody = sync.get_many(["a1", "nobody"])
    with TestClient(create_app(served), headers=bearer(served)) as http:
        one = http.get("/v1/learners/a1/state")
        batch = http.post("/v1/learners/states",
                          json={"learner_ids": ["a1", "nobody", "a1"]})
    assert one.status_code == 200 and batch.status_code == 200
    assert LearnerStateResponse.model_validate(one.json()) == a1
    assert [LearnerStateResponse.model_validate(s) for s in batch.json()["states"]] == [
        a1, nobody, a1]


def _serve(settings: Settings, **env: str) -> subprocess.Popen[str]:
    environ = dict(os.environ, LEARNSTREAM_DATABASE_URL=settings.resolved_database_url,
                   LEARNSTREAM_KAFKA_BOOTSTRAP=settings.resolved_kafka_bootstrap, **env)
    return subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "serve", "--port", "0"],
        env=environ, cwd=REPO_ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _listening_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the first line: the server prints it once it accepts
    match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+) \(OpenAPI at \1/docs\)\n", line)
    assert match, (line, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
    return match.group(1)


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends: uvicorn shuts down, then re-raises it
    out, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, 128 + signal.SIGINT, -signal.SIGINT), err
    assert "Traceback" not in err, err
    return out, err


def test_serve_says_where_it_listens_and_logs_each_request(served: Settings) -> None:
    headers = bearer(served)
    proc = _serve(served)
    try:
        url = _listening_url(proc)
        request = urllib.request.Request(f"{url}/v1/learners/a1/state", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as resp:
            state = LearnerStateResponse.model_validate_json(resp.read())
        with urllib.request.urlopen(f"{url}/docs", timeout=10) as resp:
            assert b"swagger-ui-bundle.js" in resp.read()
    finally:
        out, err = _stop(proc)
    assert state.learner_id == "a1" and not state.cold_start
    assert re.search(r'"GET /v1/learners/a1/state HTTP/1.1" 200', out), out
    assert re.search(r'"GET /docs HTTP/1.1" 200', out), out
    assert "Traceback" not in err and "Uvicorn running" not in out + err


def test_serve_without_the_access_log_prints_only_where_it_listens(served: Settings) -> None:
    proc = _serve(served, LEARNSTREAM_LEARNER_MODEL__ACCESS_LOG="false")
    try:
        url = _listening_url(proc)
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as resp:
            assert resp.status == 200
    finally:
        out, _ = _stop(proc)
    assert "GET" not in out, out


def test_serve_on_a_taken_port_fails_in_one_line(served: Settings) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        port = str(holder.getsockname()[1])
        done = subprocess.run(
            [sys.executable, "-c", "from app.cli import main; main()", "serve", "--port", port],
            env=dict(os.environ, LEARNSTREAM_DATABASE_URL=served.resolved_database_url),
            cwd=REPO_ROOT, text=True, capture_output=True, timeout=60)
    finally:
        holder.close()
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], done.stderr


def test_invalid_ids_never_reach_the_store(served: Settings) -> None:
    # Issue 14 item 12: a NUL id made PostgreSQL raise DataError (HTTP 500); a 5,000-character
    # id read as an unknown learner (200).
    nul, long_id = "\x00bad", "x" * 5000
    with TestClient(create_app(served), headers=bearer(served)) as http:
        assert http.get("/v1/learners/%00bad/state").status_code == 422
        assert http.get(f"/v1/learners/{long_id}/state").status_code == 422
        batch = http.post("/v1/learners/states", json={"learner_ids": ["a1", nul]})
        assert batch.status_code == 422
        assert http.get("/v1/learners/a1/state").status_code == 200  # the pool is still fine
    with LearnerStateClient(served) as sync:
        for bad in (nul, long_id):
            with pytest.raises(ValueError, match="learner id"):
                sync.get(bad)

    async def read_async() -> None:
        async with AsyncLearnerStateClient(served) as client:
            await client.get(nul)

    with pytest.raises(ValueError, match="learner id"):
        asyncio.run(read_async())


def test_learner_explain_on_the_real_log(served: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from app.cli import app

    monkeypatch.setenv("LEARNSTREAM_DATABASE_URL", served.resolved_database_url)
    known = CliRunner().invoke(app, ["learner", "explain", "a0", "--top", "2"])
    assert known.exit_code == 0, known.output
    assert "difficulty: Expected success at adjustment" in known.stdout
    assert "target band" in known.stdout
    # Issue 14 item 15: an unknown id printed a full cold-start state with exit 0.
    unknown = CliRunner().invoke(app, ["learner", "explain", "nobody"])
    assert unknown.exit_code == 1 and unknown.stdout == ""
    (line,) = unknown.stderr.splitlines()
    assert line.startswith("error: no events for learner 'nobody'")
