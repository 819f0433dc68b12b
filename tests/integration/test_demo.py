"""The main job end to end on a private namespace: every stage runs and the tables fill;
a second run with the same seed adds nothing (every event is a duplicate)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from app.demo import DemoConfig, run_demo
from learnstream.settings import Settings


def test_demo_fills_every_stage_and_is_idempotent(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings = kafka_settings.with_part(warehouse={"dir": tmp_path / "warehouse"})
    config = DemoConfig(learners=12, days=3, seed=11, idle_seconds=2.0, work_dir=tmp_path)
    console = Console(file=(tmp_path / "demo.log").open("w"), width=120)

    first = run_demo(settings, config, console)

    assert first.notes == []
    assert first.ingested > 500
    rows = first.table_rows
    for table in ("log.behavioral_events", "log.learning_events", "log.catalog_events"):
        assert rows[table] > 0, table
    for model in ("read.sessions", "read.content", "read.learner_model_state",
                  "read.student_progress", "read.like_engagement"):
        assert rows[model] > 0, model
    assert rows["warehouse.content_metrics"] > 0
    assert rows["learner_model.model_versions"] >= 1
    assert (tmp_path / "simulation-11.truth.json").exists()

    second = run_demo(settings, config, console)

    assert second.ingested == 0
    assert second.duplicates > 0
    log_tables = [name for name in rows if name.startswith("log.")]
    assert {t: second.table_rows[t] for t in log_tables} == {t: rows[t] for t in log_tables}
