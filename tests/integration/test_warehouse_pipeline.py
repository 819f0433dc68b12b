"""The warehouse against the real PostgreSQL: exactly-once export across a crash, gap safety
with an open transaction, the three engines agreeing with PostgreSQL's own SQL on simulated
data, write-backs the recommender can read, and the CLI end to end."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import psycopg
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from ingest.appender import append_batch
from ingest.queries import APPEND_EVENTS
from ingest.rows import SourceOffset, log_row
from learnstream.db import connect, downgrade, libpq_url, migrate
from learnstream.settings import Settings
from testing.sample_log import export_all, load_simulation, wait_for_horizon
from tests.examples import all_examples, example, spread
from warehouse import catalog
from warehouse.export import Checkpoint, Manifest, export_log, export_readmodels
from warehouse.jobs import run_job
from warehouse.jobs.engagement import (
    content_engagement_duckdb,
    content_engagement_polars,
    content_engagement_postgres,
    scan_events,
)
from warehouse.layout import WarehouseLayout


class Crash(Exception):
    pass


def _with_warehouse(settings: Settings, tmp_path: Path) -> Settings:
    return settings.with_part(warehouse={"dir": tmp_path / "warehouse"})


def _append(settings: Settings, events: list) -> None:  # type: ignore[type-arg]
    with connect(settings) as conn:
        append_batch(conn, [(e, SourceOffset("t", 0, i)) for i, e in enumerate(events)])


def _exported_ids(settings: Settings) -> list[str]:
    layout = WarehouseLayout(settings.warehouse.dir)
    if not layout.part_files():
        return []
    glob = str(layout.events / "event_date=*" / "*.parquet")
    with duckdb.connect() as con:
        rows = con.sql(f"SELECT event_id FROM read_parquet('{glob}')").fetchall()
    return [r[0] for r in rows]


def _log_ids(settings: Settings) -> set[str]:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT event_id::text FROM log.behavioral_events UNION ALL "
            "SELECT event_id::text FROM log.like_events UNION ALL "
            "SELECT event_id::text FROM log.activity_events UNION ALL "
            "SELECT event_id::text FROM log.learning_events UNION ALL "
            "SELECT event_id::text FROM log.catalog_events"
        ).fetchall()
    return {str(r[0]) for r in rows}


@pytest.mark.parametrize("transport", ["copy_csv", "adbc", "polars"])
def test_export_is_exactly_once_across_a_crash(
    db_settings: Settings, tmp_path: Path, transport: str
) -> None:
    if transport == "adbc":
        pytest.importorskip("adbc_driver_postgresql", reason="optional ADBC driver")
    settings = _with_warehouse(db_settings, tmp_path)
    # Spread over three days, so batches split over partitions.
    events = [e.model_copy(update={"occurred_at": e.occurred_at + timedelta(days=i % 3)})
              for i, e in enumerate(spread(all_examples()))]
    _append(settings, events)
    wait_for_horizon(settings)  # a transaction elsewhere on the server may hold it back
    batches = 0

    def crash_on_third(_: Checkpoint) -> None:
        nonlocal batches
        batches += 1
        if batches == 3:
            raise Crash

    with pytest.raises(Crash):
        export_log(settings, transport=transport, batch_rows=5,  # type: ignore[arg-type]
                   before_checkpoint=crash_on_third)
    # The crashed batch's files are on disk, but the manifest does not know them.
    assert Manifest.load(WarehouseLayout(settings.warehouse.dir)).rows == 10
    assert len(_exported_ids(settings)) == 15
    result = export_log(settings, transport=transport, batch_rows=5)  # type: ignore[arg-type]
    assert result.orphans_removed >= 1
    ids = _exported_ids(settings)
    assert len(ids) == len(set(ids)) == len(events)
    assert set(ids) == _log_ids(settings)
    # New events later: only they are exported; a rerun with nothing new changes nothing.
    more = [example("playback.started", content_id=f"new-{i}") for i in range(4)]
    _append(settings, more)
    assert export_all(settings).rows == 4
    assert export_log(settings).rows == 0
    ids = _exported_ids(settings)
    assert len(ids) == len(set(ids)) == len(events) + 4


def test_export_waits_for_open_transactions(db_settings: Settings, tmp_path: Path) -> None:
    """A row of a still-open transaction can hold a smaller position than rows committed
    after it; the export must not move its checkpoint past it."""
    settings = _with_warehouse(db_settings, tmp_path)
    early = example("playback.started", content_id="early")
    with psycopg.connect(libpq_url(settings.resolved_database_url)) as slow:
        # Same statement the appender runs, but in a transaction left open on purpose.
        row = log_row(early, SourceOffset("t", 0, 1))
        slow.execute(APPEND_EVENTS[early.topic], [[v] for v in row])
        _append(settings, [example("playback.started", content_id="late")])
        assert export_log(settings).rows == 0  # "late" committed, but "early" is still open
        slow.commit()
    assert export_all(settings).rows == 2
    assert len(_exported_ids(settings)) == 2


@pytest.fixture
def simulated(db_settings: Settings, tmp_path: Path) -> Settings:
    settings = _with_warehouse(db_settings, tmp_path)
    load_simulation(settings, tmp_path / "truth.json", learners=25, days=10, seed=3)
    export_all(settings)
    return settings


def test_engines_match_postgres_on_simulated_data(simulated: Settings) -> None:
    con = catalog.open(simulated)
    try:
        duck = content_engagement_duckdb(con)
    finally:
        con.close()
    polars = content_engagement_polars(scan_events(WarehouseLayout(simulated.warehouse.dir).events))
    postgres = content_engagement_postgres(simulated)
    assert duck.height > 10 and int(duck["starts"].sum()) > 50
    assert_frame_equal(duck, polars, check_exact=False, rel_tol=1e-9)
    assert_frame_equal(duck, postgres, check_exact=False, rel_tol=1e-9)


def test_jobs_write_back_what_the_recommender_reads(simulated: Settings) -> None:
    first = run_job(simulated, "engagement")
    run_job(simulated, "engagement")  # idempotent: same tables again
    difficulty = run_job(simulated, "difficulty")
    assert difficulty.notes == ["no learner model state with abilities: Rasch fit"]
    with connect(simulated) as conn:
        conn.execute("SET ROLE learnstream_reader")
        metrics = conn.execute(
            "SELECT count(*), count(quality_score), count(difficulty_score) "
            "FROM warehouse.content_metrics"
        ).fetchone()
        items = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE is_content) FROM warehouse.item_metrics"
        ).fetchone()
        engagement_rows = conn.execute(
            "SELECT count(*) FROM warehouse.content_engagement"
        ).fetchone()
        runs = conn.execute("SELECT job, through_position FROM warehouse.job_runs").fetchall()
    # One row per catalog content, each with its engagement; difficulty figures only where
    # an assessment is about that content. Every calibrated item is in item_metrics.
    assert metrics is not None and items is not None
    assert metrics[0] == metrics[1] == first.tables["content_engagement"]
    assert items[0] == difficulty.tables["content_difficulty"]
    assert metrics[2] == items[1]
    assert engagement_rows == (first.tables["content_engagement"],)
    assert [r[0] for r in runs] == ["engagement", "engagement", "difficulty"]
    assert all(r[1] is not None for r in runs)


def test_difficulty_uses_learner_model_abilities_when_present(simulated: Settings) -> None:
    with connect(simulated) as conn:
        # The learner model's read model (one owner: learner_model/projection.py), reduced to
        # the columns the job reads; the projector would put a view here.
        conn.execute("CREATE SCHEMA IF NOT EXISTS read")
        conn.execute(
            "CREATE TABLE read.learner_model_state (learner_id text, ability_logit float8)"
        )
        learners = conn.execute(
            "SELECT DISTINCT COALESCE(learner_id, session_id) FROM log.learning_events "
            "WHERE event_type = 'assessment.submitted'"
        ).fetchall()
        for i, (learner,) in enumerate(learners):
            conn.execute("INSERT INTO read.learner_model_state VALUES (%s, %s)",
                         (learner, (i % 5) - 2.0))
        conn.commit()
    result = run_job(simulated, "difficulty")
    assert result.notes == ["abilities from read.learner_model_state.ability_logit"]
    con = catalog.open(simulated)
    try:
        sources = con.sql("SELECT DISTINCT ability_source FROM learner_difficulty").fetchall()
    finally:
        con.close()
    assert sources == [("learner_model",)]


def test_cli_export_jobs_report(
    simulated: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.cli import app

    monkeypatch.setenv("LEARNSTREAM_DATABASE_URL", simulated.resolved_database_url)
    monkeypatch.setenv("LEARNSTREAM_WAREHOUSE__DIR", str(simulated.warehouse.dir))
    runner = CliRunner()
    out = runner.invoke(app, ["export", "--truth", str(tmp_path / "truth.json")])
    assert out.exit_code == 0, out.output
    assert "exported 0 rows" in out.output  # the fixture exported everything already
    for job in ("engagement", "difficulty"):
        out = runner.invoke(app, ["jobs", "run", job])
        assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["report", "--out", str(tmp_path / "report")])
    assert out.exit_code == 0, out.output
    pngs = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert "retention_cohorts.png" in pngs and len(pngs) >= 4
    assert (tmp_path / "report" / "report.html").stat().st_size > 10_000
    assert runner.invoke(app, ["jobs", "run", "nope"]).exit_code != 0


def test_migration_downgrade_and_upgrade(db_settings: Settings) -> None:
    downgrade(db_settings, "0004_learner_model")
    with connect(db_settings) as conn:
        assert conn.execute("SELECT to_regnamespace('warehouse')").fetchone() == (None,)
    migrate(db_settings)
    with connect(db_settings) as conn:
        assert conn.execute("SELECT to_regclass('warehouse.content_metrics')").fetchone() != (None,)


def test_read_models_are_snapshotted_and_replace_derived_views(
    db_settings: Settings, tmp_path: Path
) -> None:
    settings = _with_warehouse(db_settings, tmp_path)
    with connect(settings) as conn:
        conn.execute("CREATE SCHEMA rm_test")
        conn.execute(
            "CREATE TABLE rm_test.user_preferences (learner_id text, id uuid, "
            "preferred_formats jsonb, playback_speed numeric)"
        )
        conn.execute(
            "INSERT INTO rm_test.user_preferences VALUES "
            "('l1', gen_random_uuid(), '[\"podcast\"]', 1.25), ('l2', NULL, NULL, NULL)"
        )
        conn.commit()
    assert export_readmodels(settings) == ["user_preferences"]
    assert Manifest.load(WarehouseLayout(settings.warehouse.dir)).readmodels == (
        "user_preferences",
    )
    con = catalog.open(settings)
    try:
        rows = con.sql(
            "SELECT learner_id, preferred_formats, playback_speed FROM user_preferences "
            "ORDER BY learner_id"
        ).fetchall()
    finally:
        con.close()
    assert rows == [("l1", '["podcast"]', 1.25), ("l2", None, None)]


def test_content_metrics_joins_a_content_with_its_own_assessments_only(
    db_settings: Settings,
) -> None:
    with connect(db_settings) as conn:
        conn.execute(
            "INSERT INTO warehouse.content_engagement (content_id, starts, completions, skips,"
            " replays, plays, listeners, likers, time_spent_seconds, engagement_score) VALUES"
            " ('lesson-audio', 10, 8, 1, 0, 10, 9, 2, 600, 0.7),"
            " ('story', 5, 2, 2, 0, 5, 5, 0, 100, 0.4)"
        )
        conn.execute(
            "INSERT INTO warehouse.content_difficulty (content_id, calibrated_difficulty,"
            " difficulty_score, outcomes, success_rate, ability_source) VALUES"
            " ('lesson-audio', 0.5, 0.62, 40, 0.55, 'rasch'),"
            " ('quiz-7', -0.3, 0.43, 25, 0.7, 'rasch')"
        )
        content = conn.execute(
            "SELECT content_id, quality_score, difficulty_score FROM warehouse.content_metrics"
            " ORDER BY 1"
        ).fetchall()
        items = conn.execute(
            "SELECT item_id, is_content FROM warehouse.item_metrics ORDER BY 1"
        ).fetchall()
    assert content == [("lesson-audio", 0.7, 0.62), ("story", 0.4, None)]
    assert items == [("lesson-audio", True), ("quiz-7", False)]
