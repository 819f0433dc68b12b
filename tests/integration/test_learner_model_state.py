"""The learner-model projection against the real log: incremental equals rebuilt, fitted
versions are recorded, and the state API (client and HTTP) reads it as the reader role."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from learner_model.model.fit import FitConfig
from learner_model.projection import LearnerModelProjection
from learner_model.serving.client import LearnerStateClient
from learner_model.serving.service import create_app
from learner_model.store import load_current_params
from learner_model.training import fit_from_log
from learnstream.contracts import (
    AssessmentSubmitted,
    AssessmentSubmittedPayload,
    ContentCharacteristics,
    ContentLiked,
    Envelope,
    LikePayload,
    PlaybackSkipped,
    SkipPayload,
)
from learnstream.db import connect
from learnstream.log import Checkpoint
from learnstream.settings import Settings
from projections.runner import project_until_caught_up
from tests.integration.api_support import bearer
from tests.integration.projection_support import (
    append,
    apply_incrementally,
    scratch_store,
    table_rows,
    wait_readable,
)

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _history(seed: int = 5, learners: int = 6, per: int = 25) -> list[Envelope]:
    rng = random.Random(seed)
    ability = {f"l{i}": rng.gauss(0, 1.2) for i in range(learners)}
    chars = [ContentCharacteristics(format=f, genre=g) for f in ("podcast", "narrative")
             for g in ("news", "mystery")]
    out: list[Envelope] = []
    for k in range(per):
        for lid, a in ability.items():
            at = T0 + timedelta(minutes=10 * k + rng.random())
            item = f"q{rng.randrange(12)}"
            p = 1 / (1 + 2.718 ** -(a - int(item[1:]) / 6 + 1))
            out.append(AssessmentSubmitted(
                event_id=uuid.uuid4(), occurred_at=at, session_id=f"s-{lid}", learner_id=lid,
                payload=AssessmentSubmittedPayload(
                    assessment_id=item, skills=[f"sk{int(item[1:]) % 3}"],
                    score=float(rng.random() < p), max_score=1, attempt_number=1)))
            c = rng.choice(chars)
            if rng.random() < 0.3:
                out.append(ContentLiked(event_id=uuid.uuid4(), occurred_at=at, content_id="c",
                                        session_id=f"s-{lid}", learner_id=lid,
                                        payload=LikePayload(content_characteristics=c)))
            elif rng.random() < 0.2:
                out.append(PlaybackSkipped(
                    event_id=uuid.uuid4(), occurred_at=at, content_id="c", session_id=f"s-{lid}",
                    learner_id=lid, payload=SkipPayload(playback_position=5,
                                                        playback_position_percent=5,
                                                        content_characteristics=c)))
    return out


def _rows(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    cur = conn.execute("SELECT * FROM read.learner_model_state ORDER BY learner_id")
    names = [d.name for d in cur.description or ()]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def per_learner_outcomes(events: list[Envelope]) -> int:
    return sum(isinstance(e, AssessmentSubmitted) for e in events)


def _project_until_all_applied(settings: Settings, total: int, timeout: float = 60.0) -> None:
    # Rows become readable only once every older transaction on the server has finished (the
    # projections' gap rule); on a shared server another session can hold that back briefly.
    deadline = time.monotonic() + timeout
    while True:
        project_until_caught_up(settings, [LearnerModelProjection()])
        with connect(settings) as conn:
            row = conn.execute("SELECT coalesce(sum(outcomes), 0) FROM read.learner_model_state"
                               ).fetchone()
        if (row and row[0] >= total) or time.monotonic() > deadline:
            return
        time.sleep(0.2)


def test_fit_project_rebuild_and_read(db_settings: Settings) -> None:
    events = _history()
    half = len(events) // 2
    append(db_settings, events[:half])
    # The fit reads under the gap rule: another session's open transaction on the shared
    # server can hold just-committed rows back (latency, never loss), so wait for them.
    wait_readable(db_settings)
    with connect(db_settings) as conn:
        params, upto, rows = fit_from_log(conn, FitConfig(theta_prior_var=0.1))
        conn.commit()
        assert rows == sum(isinstance(e, AssessmentSubmitted) for e in events[:half])
        assert load_current_params(conn).version == params.version
        version_rows = conn.execute(
            "SELECT version, is_current, trained_upto FROM learner_model.model_versions"
        ).fetchall()
        assert version_rows == [(params.version, True, upto)]

    # Incremental: the runner, while the second half arrives.
    project_until_caught_up(db_settings, [LearnerModelProjection()])
    append(db_settings, events[half:])
    _project_until_all_applied(db_settings, total=per_learner_outcomes(events))
    with connect(db_settings) as conn:
        live = _rows(conn)
        assert {r["learner_id"] for r in live} == {f"l{i}" for i in range(6)}
        assert all(r["model_version"] == params.version for r in live)
        assert all(not r["cold_start"] for r in live)
        # Rebuild from the log into a scratch generation, in odd batch sizes: same rows.
        projection = LearnerModelProjection()
        store = scratch_store(projection, "check")
        with conn.transaction():
            projection.create_tables(conn, store)
        apply_incrementally(conn, projection, store, Checkpoint.START, [7, 50, 3])
        rebuilt = table_rows(conn, projection, store)
        physical = conn.execute(
            "SELECT * FROM read.learner_model_state ORDER BY learner_id").fetchall()
        # The view exposes the public columns; compare those (the rebuilt table has them first).
        assert [r[: len(physical[0])] for r in rebuilt] == physical

    # The API as the read-only role: known learners, an unknown one, and the batch endpoint.
    with LearnerStateClient(db_settings) as client:
        l0, l3, stranger = client.get_many(["l0", "l3", "stranger"])
        assert l0.outcomes == 25 and not l0.cold_start
        assert l0.as_of is not None and l0.as_of >= upto
        assert stranger.cold_start and stranger.outcomes == 0
        assert stranger.model_version == params.version
        assert l3.comprehension_level == live[3]["comprehension_level"]
    app = create_app(db_settings)
    with TestClient(app, headers=bearer(db_settings)) as http:
        one = http.get("/v1/learners/l1/state").json()
        assert one["learner_id"] == "l1" and one["outcomes"] == 25
        cold = http.get("/v1/learners/nobody/state").json()
        assert cold["cold_start"] is True
        batch = http.post("/v1/learners/states", json={"learner_ids": ["l2", "nobody"]}).json()
        assert [s["learner_id"] for s in batch["states"]] == ["l2", "nobody"]
        assert "/v1/learners/{learner_id}/state" in http.get("/openapi.json").json()["paths"]


def test_reader_role_cannot_write_model_versions(db_settings: Settings) -> None:
    with connect(db_settings) as conn:
        conn.execute("SET ROLE learnstream_reader")
        try:
            conn.execute("INSERT INTO learner_model.model_versions (version, trained_upto, "
                         "training_rows, params) VALUES ('x', 0, 0, '{}')")
        except psycopg.errors.InsufficientPrivilege:
            conn.rollback()
        else:
            raise AssertionError("the reader role could write model versions")
        conn.execute("SET ROLE learnstream_reader")
        assert conn.execute("SELECT count(*) FROM learner_model.model_versions").fetchone() == (0,)
