"""Erasure end to end on simulated learners, against the real PostgreSQL: after
``learner erase``, neither a ``pg_dump`` of the database nor any byte or Parquet value of the
warehouse holds the learner's id or session ids; other learners' rows are unchanged; the
read models equal a fresh rebuild; a receipt holds no PII; a replay of the learner's events
through ingest is suppressed; the log stays append-only for every other path."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.erasure import erase_learners
from app.projections import running_projections
from ingest.appender import append_batch
from ingest.rows import SourceOffset
from learnstream.db import connect, libpq_url
from learnstream.log import LOG_TABLES
from learnstream.log.erasure import subject_hash
from learnstream.settings import Settings
from projections.runner import project_until_caught_up
from testing.sample_log import export_all, load_simulation
from tests.examples import example
from warehouse.export import export_readmodels
from warehouse.jobs import run_job
from warehouse.layout import WarehouseLayout
from warehouse.truth import import_truth

READ_MODELS = (
    "SELECT table_name FROM information_schema.views WHERE table_schema = 'read' ORDER BY 1"
)


@pytest.fixture
def populated(db_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    settings = db_settings.with_part(warehouse={"dir": tmp_path / "warehouse"})
    load = load_simulation(settings, tmp_path / "truth.json", learners=12, days=6, seed=5)
    project_until_caught_up(settings, running_projections())
    export_all(settings)
    export_readmodels(settings)
    import_truth(settings, load.truth_path)
    run_job(settings, "engagement")
    run_job(settings, "difficulty")
    yield settings


def _victim(settings: Settings) -> tuple[str, list[str]]:
    """An identified learner (so anonymous sessions are stitched to them), and sessions."""
    with connect(settings) as conn:
        learner = conn.execute(  # the identified learner with the most anonymous playback
            "SELECT i.learner_id FROM log.catalog_events i JOIN log.behavioral_events b "
            "ON b.session_id = i.session_id AND b.learner_id IS NULL "
            "WHERE i.event_type = 'learner.identified' "
            "GROUP BY i.learner_id ORDER BY count(*) DESC, i.learner_id LIMIT 1"
        ).fetchone()
        assert learner is not None, "the simulation identified nobody"
        sessions = conn.execute(
            " UNION ".join(f"SELECT session_id FROM log.{t} WHERE learner_id = %(l)s"
                           for t in LOG_TABLES.values()), {"l": learner[0]}
        ).fetchall()
    return str(learner[0]), sorted(str(s[0]) for s in sessions)


def _rows_of_others(settings: Settings, learner: str) -> dict[str, list[Any]]:
    with connect(settings) as conn:
        return {
            t: conn.execute(
                f"SELECT event_id, learner_id, session_id, payload FROM log.{t} "
                "WHERE learner_id <> %s ORDER BY event_id", (learner,)
            ).fetchall()
            for t in LOG_TABLES.values()
        }


def _read_models(settings: Settings) -> dict[str, list[str]]:
    with connect(settings) as conn:
        views = [str(r[0]) for r in conn.execute(READ_MODELS)]
        return {
            v: sorted(json.dumps(r[0], sort_keys=True, default=str) for r in conn.execute(
                f'SELECT to_jsonb(t) FROM read."{v}" t'))
            for v in views
        }


def _pg_dump(settings: Settings) -> bytes:
    out = subprocess.run(
        ["pg_dump", "--no-owner", libpq_url(settings.resolved_database_url)],
        check=True, capture_output=True, timeout=120,
    ).stdout
    # pg_dump 15.14+ brackets the dump with a random \restrict key: not data.
    return b"\n".join(line for line in out.split(b"\n")
                      if not line.startswith((b"\\restrict", b"\\unrestrict")))


def _warehouse_traces(settings: Settings, needles: list[str]) -> list[str]:
    """Every place under the warehouse where a needle shows: raw bytes of any file, or a
    value of any string column of any Parquet file (compressed pages hide bytes)."""
    root = WarehouseLayout(settings.warehouse.dir).root
    found: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path}: bytes {n}" for n in needles if n.encode() in data]
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for name in table.column_names:
                if pa.types.is_string(table[name].type) or pa.types.is_large_string(
                        table[name].type):
                    values = "\n".join(v for v in table[name].to_pylist() if v)
                    found += [f"{path}:{name} {n}" for n in needles if n in values]
    return found


def test_erasure_leaves_no_trace_and_nothing_else_changes(populated: Settings) -> None:
    settings = populated
    learner, own_sessions = _victim(settings)
    with connect(settings) as conn:  # a dead letter that names the learner, one that does not
        append_batch(conn, [], [
            _dead(f'{{"event_type": "playback.started", "learner_id": "{learner}"}}', 1),
            _dead('{"event_type": "playback.started", "learner_id": "someone-else"}', 2),
        ])
        # The difficulty job's write-back has a row per learner; make sure of the victim's.
        conn.execute("INSERT INTO warehouse.learner_difficulty SELECT (jsonb_populate_record("
                     "t, jsonb_build_object('learner_id', %s::text))).* "
                     "FROM warehouse.learner_difficulty t LIMIT 1 ON CONFLICT DO NOTHING",
                     (learner,))
        conn.commit()
    others_before = _rows_of_others(settings, learner)
    dump_before = _pg_dump(settings)
    assert learner.encode() in dump_before  # the scan can find what it looks for

    dry = erase_learners(settings, [learner], dry_run=True)
    plan = dry.plans[0]
    assert set(own_sessions) <= set(plan.session_ids)
    with connect(settings) as conn:
        counts = [conn.execute(f"SELECT count(*) FROM log.{t} WHERE learner_id = %s",
                               (learner,)).fetchone() for t in LOG_TABLES.values()]
    own = sum(int(c[0]) for c in counts if c is not None)
    assert plan.rows["behavioral_events"] > 0
    assert plan.total_rows - 2 > own, "no anonymous row of a stitched session was found"
    assert plan.rows["dead_letters"] == 1 and plan.rows["warehouse.learner_difficulty"] == 1
    assert plan.total_rows > 50 and dry.files
    assert _pg_dump(settings) == dump_before  # a dry run changes nothing

    outcome = erase_learners(settings, [learner])

    needles = [learner, *plan.session_ids]
    dump = _pg_dump(settings).decode()
    assert [n for n in needles if n in dump] == []
    assert _warehouse_traces(settings, needles) == []
    # The rewritten warehouse still reads: the jobs run on it.
    assert run_job(settings, "engagement").tables
    assert _rows_of_others(settings, learner) == others_before
    # The read models equal a fresh rebuild from the remaining log.
    erased = _read_models(settings)
    with connect(settings) as conn:
        for projection in running_projections():
            conn.execute("UPDATE projections.checkpoints SET version = -1 WHERE name = %s",
                         (projection.name,))
        conn.commit()
    project_until_caught_up(settings, running_projections())  # version -1: full rebuilds
    assert _read_models(settings) == erased

    with connect(settings) as conn:
        receipt = conn.execute("SELECT kind, subject_hash, rows FROM log.erasures WHERE id = %s",
                               (outcome.receipts[0],)).fetchone()
        files = conn.execute("SELECT files FROM log.erasure_files WHERE erasure_id = %s",
                             (outcome.receipts[0],)).fetchone()
    assert receipt is not None and files is not None
    assert receipt[0] == "erasure" and receipt[1] == subject_hash(learner)
    assert receipt[2] == plan.rows
    assert sorted(f["path"] for f in files[0]) == [f.path for f in outcome.files]


def test_a_replayed_event_of_an_erased_learner_is_suppressed(populated: Settings) -> None:
    settings = populated
    learner, _ = _victim(settings)
    plan = erase_learners(settings, [learner]).plans[0]
    anonymous = sorted(set(plan.session_ids))[0]
    late = [  # a client retry of theirs, an anonymous event of a stitched session, another's
        example("playback.heartbeat", learner_id=learner, session_id="new-session"),
        example("playback.heartbeat", learner_id=None, session_id=anonymous),
        example("playback.heartbeat", learner_id="someone-else", session_id=anonymous),
    ]
    with connect(settings) as conn:
        again = append_batch(conn, [(e, SourceOffset("replay", 0, i)) for i, e in enumerate(late)])
        kept = conn.execute("SELECT learner_id FROM log.behavioral_events WHERE event_id = ANY(%s)",
                            ([e.event_id for e in late],)).fetchall()
    assert (again.suppressed, again.inserted) == (2, 1)
    assert kept == [("someone-else",)]


def test_the_log_refuses_deletes_from_every_other_path(populated: Settings) -> None:
    settings = populated
    learner, _ = _victim(settings)
    for role, setup in [
        (None, ""),  # the owner of the tables
        # The functions' owner outside them. (No login role is a member of it; only a
        # superuser, who can drop the triggers anyway, can act as it, as this test does.)
        ("learnstream_erasure_owner", ""),
        ("learnstream_eraser", "SELECT set_config('learnstream.erasing', 'on', false)"),
        ("learnstream_ingest", ""),
    ]:
        with connect(settings) as conn:
            if role:
                conn.execute(f"SET ROLE {role}")
            if setup:
                conn.execute(setup)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM log.behavioral_events WHERE learner_id = %s",
                             (learner,))
            conn.rollback()
    for role in ("learnstream_ingest", "learnstream_reader"):
        with connect(settings) as conn:
            conn.execute(f"SET ROLE {role}")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT log.erase_learner(%s, 'h', '{}', '{}', '{}')", (learner,))
    with connect(settings) as conn:
        left = conn.execute("SELECT count(*) FROM log.behavioral_events WHERE learner_id = %s",
                            (learner,)).fetchone()
    assert left is not None and left[0] > 0


def test_an_erasure_waits_for_an_ingest_batch_in_flight(populated: Settings) -> None:
    """The suppression lock: a batch holding it shared blocks the erasure until it commits."""
    settings = populated
    learner, _ = _victim(settings)
    with connect(settings) as batch, connect(settings) as eraser:
        batch.execute("SELECT pg_advisory_xact_lock_shared(7301013)")  # ingest's batch lock
        eraser.execute("SET lock_timeout = '300ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            eraser.execute("SELECT log.erase_learner(%s, 'h', '{}', '{}', '{}')", (learner,))
        eraser.rollback()
        batch.commit()
        eraser.execute("SELECT log.erase_learner(%s, %s, '{}', '{}', '{}')",
                       (learner, subject_hash(learner)))
        eraser.commit()


def _dead(raw: str, offset: int) -> Any:
    from ingest.appender import DeadLetter
    from learnstream.errors import RejectionReason

    return DeadLetter(RejectionReason.MISSING_FIELD, "test", raw.encode(), None,
                      SourceOffset("learnstream.behavior", 0, offset))


def test_a_replay_from_kafka_of_an_erased_learner_is_counted_not_stored(
    kafka_settings: Settings,
) -> None:
    from ingest.emitter import produce
    from testing.ingest import ingest_until_idle

    theirs = [example("playback.heartbeat", learner_id="erased-learner-9c1",
                      session_id="erased-session-9c1") for _ in range(3)]
    anonymous = example("playback.heartbeat", learner_id=None, session_id="erased-session-9c1")
    produce(kafka_settings, [*theirs, anonymous])
    first = ingest_until_idle(kafka_settings)
    assert first.inserted == 4 and first.suppressed == 0
    erase_learners(kafka_settings, ["erased-learner-9c1"])

    replay = [e.model_copy(update={"event_id": e.event_id}) for e in [*theirs, anonymous]]
    other = example("playback.heartbeat", learner_id="still-here", session_id="s-here")
    produce(kafka_settings, [*replay, other])
    second = ingest_until_idle(kafka_settings)
    assert (second.suppressed, second.inserted) == (4, 1)
    with connect(kafka_settings) as conn:
        rows = conn.execute("SELECT learner_id FROM log.behavioral_events").fetchall()
    assert rows == [("still-here",)]


def test_retention_deletes_old_rows_through_the_audited_path(populated: Settings) -> None:
    from datetime import timedelta

    from app.retention import apply_retention
    from learnstream.settings import RetentionPolicy

    settings = populated
    with connect(settings) as conn:
        span = conn.execute("SELECT min(occurred_at), max(occurred_at), count(*) FILTER "
                            "(WHERE event_type <> 'playback.heartbeat') "
                            "FROM log.behavioral_events").fetchone()
    assert span is not None
    first, last, others = span
    middle = first + (last - first) / 2
    now = middle + timedelta(days=1)  # "older than 1 day" = before the middle
    policy = RetentionPolicy(table="behavioral_events", days=1,
                             event_types=["playback.heartbeat"])
    settings = settings.model_copy(update={"privacy": settings.privacy.model_copy(
        update={"retention": [policy]})})
    dry = apply_retention(settings, dry_run=True, now=now)
    assert dry.items[0].rows > 0 and dry.files and not dry.rebuilt

    done = apply_retention(settings, now=now)
    assert done.items[0].rows == dry.items[0].rows and done.rebuilt
    with connect(settings) as conn:
        old = conn.execute("SELECT count(*) FROM log.behavioral_events WHERE occurred_at < %s "
                           "AND event_type = 'playback.heartbeat'", (middle,)).fetchone()
        kept = conn.execute("SELECT count(*) FROM log.behavioral_events "
                            "WHERE event_type <> 'playback.heartbeat'").fetchone()
        receipt = conn.execute("SELECT kind, policy ->> 'table', rows FROM log.erasures "
                               "WHERE id = %s", (done.items[0].receipt,)).fetchone()
    assert old == (0,) and kept == (others,)
    assert receipt == ("retention", "behavioral_events", {"behavioral_events": done.items[0].rows})
    traces = WarehouseLayout(settings.warehouse.dir)
    import duckdb

    glob = str(traces.events / "event_date=*" / "*.parquet")
    with duckdb.connect() as con:
        left = con.execute(f"SELECT count(*) FROM read_parquet('{glob}') WHERE family = "
                           "'behavioral_events' AND event_type = 'playback.heartbeat' "
                           "AND occurred_at < ?", [middle]).fetchall()
    assert left == [(0,)]


def test_the_erase_command_dry_run_and_a_bad_id(populated: Settings,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from app.cli import app

    learner, _ = _victim(populated)
    monkeypatch.setenv("LEARNSTREAM_DATABASE_URL", populated.resolved_database_url)
    monkeypatch.setenv("LEARNSTREAM_WAREHOUSE__DIR", str(populated.warehouse.dir))
    runner = CliRunner()
    dry = runner.invoke(app, ["learner", "erase", learner, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run:" in dry.output and "nothing was changed" in dry.output
    with connect(populated) as conn:
        still = conn.execute("SELECT count(*) FROM log.behavioral_events WHERE learner_id = %s",
                             (learner,)).fetchone()
    assert still is not None and still[0] > 0
    bad = runner.invoke(app, ["learner", "erase", ""])
    assert bad.exit_code == 2
    done = runner.invoke(app, ["learner", "erase", learner])
    assert done.exit_code == 0, done.output
    assert "erased 1 learners" in done.output


@pytest.mark.parametrize("mode", ["hash", "drop"])
def test_ingest_hashes_or_drops_marked_free_text(kafka_settings: Settings, mode: str) -> None:
    from ingest.emitter import produce
    from testing.ingest import ingest_until_idle

    settings = kafka_settings.with_part(privacy={"pii": mode})
    produce(settings, [
        example("content.requested", payload={"query_text": "I am Ada Lovelace, 9"}),
        example("feedback.submitted", payload={"rating": 2, "feedback_text": "Ada again"}),
    ])
    assert ingest_until_idle(settings).inserted == 2
    with connect(settings) as conn:
        rows = conn.execute("SELECT query_text, payload::text FROM log.activity_events "
                            "ORDER BY event_type").fetchall()
    stored = json.dumps([list(r) for r in rows])
    assert "Ada" not in stored
    requested = next(r for r in rows if r[0] is not None)
    assert requested[0].startswith("sha256:") if mode == "hash" else requested[0] == ""


def test_the_projector_keeps_running_through_an_erasure(populated: Settings) -> None:
    import threading

    from projections.runner import run_projections

    settings = populated
    learner, _ = _victim(settings)
    stop = threading.Event()
    outcome: dict[str, Any] = {}

    def project() -> None:
        outcome["summary"] = run_projections(settings, running_projections(), stop=stop)

    runner = threading.Thread(target=project)
    runner.start()
    try:
        erase_learners(settings, [learner])
        # New events during and after the erasure are still folded by the running projector.
        with connect(settings) as conn:
            append_batch(conn, [(example("content.liked", learner_id="after-erasure",
                                         session_id="s-after"), SourceOffset("t", 0, 1))])
        import time

        deadline = 60.0  # a bound on a hang, not a speed target
        started = time.monotonic()
        while time.monotonic() - started < deadline:
            with connect(settings) as conn:
                row = conn.execute("SELECT count(*) FROM read.like_engagement "
                                   "WHERE session_id = 's-after'").fetchone()
            if row and row[0]:
                break
            time.sleep(0.2)
    finally:
        stop.set()
        runner.join(timeout=60)
    assert not runner.is_alive()
    assert outcome["summary"].failed == {}
    assert row is not None and row[0] == 1
    dump = _pg_dump(settings).decode()
    assert learner not in dump


def test_an_eraser_role_the_login_user_cannot_take_is_a_settings_error(
    db_settings: Settings,
) -> None:
    from learnstream.errors import ConfigurationError

    settings = db_settings.with_part(privacy={"eraser_role": "no_such_role_9c1"})
    with pytest.raises(ConfigurationError, match="LEARNSTREAM_PRIVACY__ERASER_ROLE=''"):
        erase_learners(settings, ["anyone"], dry_run=True)
