"""The projector against the real database: hand-checked read models, the gap rule under
concurrent writers that commit out of order, poison events, rebuild while running, status."""

from __future__ import annotations

import itertools
import threading
import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from ingest.appender import append_batch
from ingest.rows import SourceOffset
from learnstream.contracts import Envelope
from learnstream.db import connect
from learnstream.log import frontier
from learnstream.settings import Settings
from projections.assessments import AssessmentAttemptProjection
from projections.likes import LikeEngagementProjection
from projections.preferences import SessionLearnersProjection
from projections.progress import StudentProgressProjection
from projections.rebuild import rebuild
from projections.runner import project_until_caught_up, run_projections
from projections.sessions import SessionProjection
from projections.status import projection_status
from tests.examples import BASE_TIME, example
from tests.integration.projection_support import (
    append,
    scratch_store,
    table_rows,
    wait_readable,
)
from tests.projection_histories import random_history


def _src(i: int = 0) -> SourceOffset:
    return SourceOffset("test", 0, i)


def _at(seconds: float) -> Any:
    return BASE_TIME + timedelta(seconds=seconds)


def _play(kind: str, seconds: float, position: float, **payload: Any) -> Envelope:
    return example(
        kind,
        session_id="s-listen",
        content_id="story-1",
        occurred_at=_at(seconds),
        payload={"playback_position": position, "playback_rate": 1.0, **payload},
    )


def test_sessions_listening_time_from_intervals_in_any_order(db_settings: Settings) -> None:
    events = [
        _play("playback.started", 0, 0.0),
        _play("playback.heartbeat", 30, 30.0),
        _play("playback.paused", 45, 45.0),
        _play("playback.resumed", 100, 45.0),  # 55 s of wall clock paused: not listening
        _play("playback.seeked", 115, 120.0, from_position=60.0),  # skipped 60..120
        _play("playback.completed", 295, 300.0),
    ]
    append(db_settings, list(reversed(events)), chunk=2)  # late and reversed
    wait_readable(db_settings)
    project_until_caught_up(db_settings, [SessionProjection()])
    columns = ("started_at, last_activity_at, content_ids, current_content_id,"
               " total_listening_time, event_count")
    with connect(db_settings) as conn:
        row = conn.execute(
            f"SELECT {columns} FROM read.client_sessions WHERE session_id = 's-listen'"
        ).fetchone()
        session = conn.execute(
            f"SELECT session_id, {columns} FROM read.sessions"
            " WHERE client_session_id = 's-listen'"
        ).fetchall()
    # 30 (0->30) + 15 (30->45) + 0 (paused) + 15 (45->60) + 180 (120->300) = 240 s
    assert row == (_at(0), _at(295), ["story-1"], "story-1", 240, 6)
    assert session == [("s-listen:1", *row)]  # no silence over 30 minutes: one session


def test_like_state_is_latest_toggle_and_identity_moves_progress(db_settings: Settings) -> None:
    like = dict(session_id="s-like", content_id="story-9", learner_id=None)
    anon = dict(session_id="s-anon", learner_id=None)
    events = [
        example("content.liked", occurred_at=_at(10), payload={"reaction_type": "love"}, **like),
        example("content.unliked", occurred_at=_at(20), **like),
        example(
            "content.liked", occurred_at=_at(30), payload={"reaction_type": "favorite"}, **like
        ),
        example(
            "lesson.position",
            occurred_at=_at(50),
            payload={"position": {"step": 2}, "time_spent_delta": 40},
            **anon,
        ),
        example(
            "lesson.completed",
            occurred_at=_at(90),
            payload={"score": 80.0, "time_spent_delta": 60},
            **anon,
        ),
        example(
            "lesson.position",
            occurred_at=_at(70),
            payload={"position": {"step": 5}, "time_spent_delta": 20},
            **anon,
        ),
    ]
    append(db_settings, [events[2], events[0], events[1], *events[3:]])
    wait_readable(db_settings)
    projections = [LikeEngagementProjection(), StudentProgressProjection()]
    project_until_caught_up(db_settings, projections)
    # The anonymous session is identified afterwards: its progress moves to the learner.
    append(
        db_settings,
        [
            example(
                "learner.identified", session_id="s-anon", learner_id="L-9", occurred_at=_at(100)
            )
        ],
    )
    wait_readable(db_settings)
    project_until_caught_up(db_settings, projections)
    with connect(db_settings) as conn:
        liked = conn.execute(
            "SELECT liked, liked_at, unliked_at, reaction_type, toggles FROM read.like_engagement"
        ).fetchall()
        progress = conn.execute(
            "SELECT student_id, lesson_id, started_at, completed_at, time_spent, score,"
            " attempts, last_position FROM read.student_progress"
        ).fetchall()
    assert liked == [(True, _at(30), _at(20), "favorite", 3)]
    assert progress == [("L-9", "a1-l3", _at(50), _at(90), 120, 80.0, 1, {"step": 5})]


def _insert_held(conn: psycopg.Connection[Any], session: str) -> None:
    """Insert one event in a transaction that stays open until the caller commits."""
    conn.execute("SELECT 1")  # open the outer transaction: append_batch's becomes a savepoint
    append_batch(
        conn,
        [(example("learner.identified", session_id=session, learner_id=f"L-{session}"), _src())],
    )


def test_gap_rule_never_skips_rows_of_transactions_that_commit_out_of_order(
    db_settings: Settings,
) -> None:
    projections = [SessionLearnersProjection()]
    project_until_caught_up(db_settings, projections)  # builds the (empty) tables
    with connect(db_settings) as a, connect(db_settings) as b, connect(db_settings) as c:
        _insert_held(a, "A")  # draws the smaller xid and position, commits last
        append_batch(b, [(example("learner.identified", session_id="B", learner_id="L-B"), _src())])
        _insert_held(c, "C")
        project_until_caught_up(db_settings, projections)
        with connect(db_settings) as r:
            # B committed, but A (older) is still open: B is not readable yet, so the
            # checkpoint cannot move past A's row.
            assert r.execute("SELECT count(*) FROM read.session_learners").fetchone() == (0,)
        c.commit()
        project_until_caught_up(db_settings, projections)
        a.commit()
    wait_readable(db_settings)
    project_until_caught_up(db_settings, projections)
    project_until_caught_up(db_settings, projections)  # a second run applies nothing again
    with connect(db_settings) as r:
        rows = r.execute(
            "SELECT session_id, identifications FROM read.session_learners ORDER BY 1"
        ).fetchall()
        applied = r.execute(
            "SELECT events_applied FROM projections.checkpoints WHERE name = 'session_learners'"
        ).fetchone()
    assert rows == [("A", 1), ("B", 1), ("C", 1)]  # every event exactly once
    assert applied == (3,)


def test_concurrent_writers_with_random_commit_delays_lose_nothing(db_settings: Settings) -> None:
    projections = [SessionLearnersProjection()]
    project_until_caught_up(db_settings, projections)
    sessions = [f"w{i}-{j}" for i in range(4) for j in range(15)]

    def writer(i: int) -> None:
        import random
        import time

        rng = random.Random(i)
        with connect(db_settings) as conn:
            for j in range(15):
                _insert_held(conn, f"w{i}-{j}")
                time.sleep(rng.uniform(0, 0.02))  # commit late, in a different order
                conn.commit()

    stop = threading.Event()
    runner = threading.Thread(
        target=run_projections,
        args=(db_settings.with_part(projections={"poll_ms": 20}), projections),
        kwargs={"stop": stop},
    )
    runner.start()
    writers = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    runner.join()
    wait_readable(db_settings)
    project_until_caught_up(db_settings, projections)
    with connect(db_settings) as r:
        rows = r.execute("SELECT session_id, identifications FROM read.session_learners").fetchall()
    assert sorted(rows) == sorted((s, 1) for s in sessions)


def test_poison_event_stops_only_its_projection_with_the_error_visible(
    db_settings: Settings,
) -> None:
    projections = [AssessmentAttemptProjection(), StudentProgressProjection()]
    project_until_caught_up(db_settings, projections)
    good_before = example("assessment.submitted", occurred_at=_at(1))
    append(db_settings, [good_before])
    poison_id = uuid.uuid4()
    with connect(db_settings) as conn, conn.transaction():
        # A row the projection cannot read (no score): written straight into the log.
        conn.execute(
            "INSERT INTO log.learning_events (event_id, event_type, schema_version, occurred_at,"
            " session_id, payload, kafka_topic, kafka_partition, kafka_offset, assessment_id)"
            " VALUES (%s, 'assessment.submitted', 1, now(), 'session-1',"
            ' \'{"assessment_id": "q", "max_score": 1, "attempt_number": 1}\', \'t\', 0, 9, \'q\')',
            (poison_id,),
        )
    after = [
        example("assessment.submitted", occurred_at=_at(3), payload={"attempt_number": 5}),
        example("lesson.started", occurred_at=_at(4)),
    ]
    append(db_settings, after)
    wait_readable(db_settings)
    summary = project_until_caught_up(db_settings, projections)
    assert "assessment_attempts" in summary.failed
    with connect(db_settings) as conn:
        statuses = {s.name: s for s in projection_status(conn, projections)}
        attempts = conn.execute("SELECT attempt_number FROM read.assessment_attempts").fetchall()
        progress = conn.execute("SELECT lesson_id FROM read.student_progress").fetchall()
    failed = statuses["assessment_attempts"]
    assert failed.state == "FAILED" and "KeyError" in (failed.last_error or "")
    assert failed.error_event_id == poison_id
    assert attempts == [(2,)]  # the event before the poison is kept; nothing after it
    # Waiting: the poison, the attempt after it, and the lesson row of the same log table
    # (lag counts the rows of the log tables the projection reads).
    assert failed.lag_events == 3
    assert progress == [("a1-l3",)] and statuses["student_progress"].state == "ok"


def test_rebuild_while_projector_runs_and_readers_query(db_settings: Settings) -> None:
    projection = SessionProjection()
    append(db_settings, random_history(3, 300))
    wait_readable(db_settings)
    project_until_caught_up(db_settings, [projection])
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def read() -> None:
        with connect(db_settings, autocommit=True) as conn:
            while not stop.is_set():
                try:
                    row = conn.execute("SELECT count(*) FROM read.sessions").fetchone()
                    seen.append(row[0] if row else -1)
                except BaseException as exc:
                    errors.append(exc)
                    return

    def write() -> None:
        for i in range(10):
            append(db_settings, random_history(100 + i, 30))

    fast = db_settings.with_part(projections={"poll_ms": 20})
    threads = [
        threading.Thread(target=run_projections, args=(fast, [projection]), kwargs={"stop": stop}),
        threading.Thread(target=read),
    ]
    for t in threads:
        t.start()
    writer = threading.Thread(target=write)
    writer.start()
    with connect(db_settings) as conn:
        first = rebuild(conn, projection)
        second = rebuild(conn, projection)
    writer.join()
    stop.set()
    for t in threads:
        t.join()
    wait_readable(db_settings)
    project_until_caught_up(db_settings, [projection])
    assert not errors
    assert seen and min(seen) > 0  # never an empty or missing table
    assert all(b >= a for a, b in itertools.pairwise(seen))  # never a partial one
    assert (first.generation, second.generation) == (2, 3)
    with connect(db_settings) as conn:
        scratch = scratch_store(projection, "check")
        with conn.transaction():
            projection.create_tables(conn, scratch)
            end = frontier(conn, projection.families)
            assert end is not None
            projection.rebuild(conn, scratch, end)
        live = conn.execute(
            "SELECT * FROM projection_store.sessions__client_sessions__g3 ORDER BY 1"
        ).fetchall()
        assert live == table_rows(conn, projection, scratch)


class _SessionsV2(SessionProjection):
    """The same read model under a new code version (e.g. after changing a rule)."""

    version = SessionProjection.version + 1


def test_changing_a_projection_version_rebuilds_it(db_settings: Settings) -> None:
    append(db_settings, random_history(5, 120))
    wait_readable(db_settings)
    first = project_until_caught_up(db_settings, [SessionProjection()])
    second = project_until_caught_up(db_settings, [_SessionsV2()])
    third = project_until_caught_up(db_settings, [_SessionsV2()])
    assert (first.rebuilt, second.rebuilt, third.rebuilt) == (["sessions"], ["sessions"], [])
    with connect(db_settings) as conn:
        row = conn.execute(
            "SELECT version, generation FROM projections.checkpoints WHERE name = 'sessions'"
        ).fetchone()
        count = conn.execute("SELECT count(*) FROM read.sessions").fetchone()
        old = conn.execute(
            "SELECT to_regclass('projection_store.sessions__client_sessions__g1')"
        ).fetchone()
    assert row == (SessionProjection.version + 1, 2) and count is not None and count[0] > 0
    assert old == (None,)  # the previous generation is gone


def test_status_counts_the_events_a_rebuild_folded(db_settings: Settings) -> None:
    history = random_history(5, 120)
    append(db_settings, history)
    wait_readable(db_settings)
    projection = SessionProjection()
    wanted = sum(1 for e in history if e.event_type in projection.event_types)
    with connect(db_settings) as conn:
        result = rebuild(conn, projection)
        (status,) = projection_status(conn, [projection])
    assert wanted > 0
    assert result.bulk_events + result.caught_up_events == wanted
    assert status.events_applied == wanted
    # Then incremental events add to it.
    more = random_history(99, 30)
    append(db_settings, more)
    wait_readable(db_settings)
    project_until_caught_up(db_settings, [projection])
    with connect(db_settings) as conn:
        (status,) = projection_status(conn, [projection])
    assert status.events_applied == wanted + sum(
        1 for e in more if e.event_type in projection.event_types
    )


def _event(kind: str, session: str, seconds: float, position: float = 0.0,
           content: str = "story-1") -> Envelope:
    if kind.startswith("playback."):
        return example(kind, session_id=session, content_id=content, occurred_at=_at(seconds),
                       payload={"playback_position": position, "playback_rate": 1.0})
    return example(kind, session_id=session, content_id=content, occurred_at=_at(seconds))


def _sessions(settings: Settings) -> list[tuple[Any, ...]]:
    with connect(settings) as conn:
        return conn.execute(
            "SELECT session_id, client_session_id, visit, started_at, last_activity_at,"
            " content_ids, current_content_id, total_listening_time, event_count"
            " FROM read.sessions ORDER BY client_session_id, visit"
        ).fetchall()


def test_a_silence_over_30_minutes_starts_a_new_session(db_settings: Settings) -> None:
    minute = 60
    device = [
        _event("playback.started", "device", 0, 0.0),
        _event("playback.completed", "device", 120, 120.0),
        _event("content.liked", "device", 10 * minute),
        # 2 h of silence: the device id is reused, the session is not.
        _event("playback.started", "device", 130 * minute, 0.0, "story-2"),
        _event("playback.heartbeat", "device", 130 * minute + 50, 50.0, "story-2"),
    ]
    late = [  # arrive last; each is under 30 minutes from the one before it
        _event("playback.heartbeat", "device", 35 * minute, 10.0, "story-3"),
        _event("playback.heartbeat", "device", 60 * minute, 20.0, "story-3"),
    ]
    append(db_settings, device)
    wait_readable(db_settings)
    project_until_caught_up(db_settings, [SessionProjection()])
    assert [(s[0], s[8]) for s in _sessions(db_settings)] == [("device:1", 3), ("device:2", 2)]

    append(db_settings, late)
    wait_readable(db_settings)
    project_until_caught_up(db_settings, [SessionProjection()])
    first, second = _sessions(db_settings)
    # 0..60 min (gaps 2, 8, 25, 25 min) is one session; 60 -> 130 min (70 min) splits.
    assert first == ("device:1", "device", 1, _at(0), _at(60 * minute),
                     ["story-1", "story-3"], "story-3", 120 + 10, 5)
    assert second == ("device:2", "device", 2, _at(130 * minute), _at(130 * minute + 50),
                      ["story-2"], "story-2", 50, 2)
    # The client row still spans both, as the client reported it.
    with connect(db_settings) as conn:
        client = conn.execute(
            "SELECT started_at, last_activity_at, event_count FROM read.client_sessions"
        ).fetchall()
    assert client == [(_at(0), _at(130 * minute + 50), 7)]


def test_the_session_gap_setting_takes_effect_at_the_next_start_without_a_rebuild(
    db_settings: Settings,
) -> None:
    minute = 60
    append(db_settings, [  # gaps of 10 and 20 minutes
        _event("playback.started", "device", 0, 0.0),
        _event("playback.heartbeat", "device", 10 * minute, 10.0),
        _event("playback.heartbeat", "device", 30 * minute, 20.0),
    ])
    wait_readable(db_settings)
    first = run_projections(db_settings, until_caught_up=True)  # the default 30 minutes
    assert "sessions" in first.rebuilt
    assert [(s[0], s[8]) for s in _sessions(db_settings)] == [("device:1", 3)]

    shorter = db_settings.model_copy(update={"session_gap_minutes": 15})
    second = run_projections(shorter, until_caught_up=True)
    assert second.rebuilt == []  # the stored rows did not change, only the view
    assert [(s[0], s[8]) for s in _sessions(db_settings)] == [("device:1", 2), ("device:2", 1)]

    third = run_projections(shorter.model_copy(update={"session_gap_minutes": 5}),
                            until_caught_up=True)
    assert third.rebuilt == []
    assert [s[0] for s in _sessions(db_settings)] == ["device:1", "device:2", "device:3"]


def _reference_sessions(events: list[Envelope]) -> list[tuple[str, Any, Any, int]]:
    """The inactivity rule, written plainly: per client id, split where the gap between
    consecutive events (by occurred_at, event_id) exceeds 30 minutes."""
    out: list[tuple[str, Any, Any, int]] = []
    by_client: dict[str, list[Envelope]] = {}
    for e in events:
        by_client.setdefault(e.session_id, []).append(e)
    for client in sorted(by_client):
        ordered = sorted(by_client[client], key=lambda e: (e.occurred_at, str(e.event_id)))
        runs: list[list[Envelope]] = [[ordered[0]]]
        for prev, cur in itertools.pairwise(ordered):
            if cur.occurred_at - prev.occurred_at > timedelta(minutes=30):
                runs.append([])
            runs[-1].append(cur)
        out += [(f"{client}:{n}", r[0].occurred_at, r[-1].occurred_at, len(r))
                for n, r in enumerate(runs, 1)]
    return sorted(out)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sessions_are_the_same_in_any_arrival_order_and_after_a_rebuild(
    db_settings: Settings, seed: int
) -> None:
    import random

    rng = random.Random(seed)
    kinds = ["playback.started", "playback.heartbeat", "playback.paused", "playback.completed",
             "content.liked", "content.unliked"]
    events = [
        _event(rng.choice(kinds), f"client-{rng.randrange(4)}",
               rng.choice([rng.uniform(0, 3 * 86400), rng.uniform(0, 7200)]),
               rng.uniform(0, 300), f"story-{rng.randrange(3)}")
        for _ in range(150)
    ]
    rng.shuffle(events)
    projection = SessionProjection()
    for i in range(0, len(events), 17):  # late, out of order, in uneven batches
        append(db_settings, events[i:i + 17])
        wait_readable(db_settings)
        project_until_caught_up(db_settings, [projection])
    incremental = _sessions(db_settings)
    with connect(db_settings) as conn:
        rebuild(conn, projection)
    assert _sessions(db_settings) == incremental
    assert sorted((s[0], s[3], s[4], s[8]) for s in incremental) == _reference_sessions(events)
