"""Dead letters can be listed, shown and replayed: what today's contracts accept is appended
once (with its original source), what still fails stays with its new reason, nothing is
edited (the log is append-only) and a second replay changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from app.cli import app
from ingest.emitter import Emitter
from ingest.replay import DeadLetterFilter, replay_dead_letters
from ingest.topics import ensure_topics
from learnstream.contracts import Topic, encode_event
from learnstream.db import connect
from learnstream.settings import Settings
from testing.ingest import dead_letter_rows, ingest_until_idle, logged_event_ids
from tests.examples import example

pytestmark = pytest.mark.integration


def _dead_letters(settings: Settings) -> tuple[str, list[bytes]]:
    """Two dead letters: an event from 30 days ahead (fine once that day comes) and bytes
    that are not JSON (never fine). Returns the first one's event_id."""
    ensure_topics(settings)
    ahead = example("playback.started").model_copy(
        update={"occurred_at": datetime.now(UTC) + timedelta(days=30)}
    )
    raws = [encode_event(ahead), b'{"event_id": ']
    with Emitter(settings) as emitter:
        for raw in raws:
            emitter.send_raw(settings.topic(Topic.BEHAVIOR), raw, key=b"k")
        emitter.flush()
    ingest_until_idle(settings)
    assert sorted(r["reason"] for r in dead_letter_rows(settings)) == [
        "malformed_json", "occurred_in_future",
    ]
    return str(ahead.event_id), raws


def test_replay_appends_what_now_passes_once_and_keeps_the_rest(
    kafka_settings: Settings,
) -> None:
    event_id, _ = _dead_letters(kafka_settings)
    later = datetime.now(UTC) + timedelta(days=31)

    dry = replay_dead_letters(kafka_settings, dry_run=True, now=later)
    assert (dry.tried, dry.appended) == (2, 1)
    assert logged_event_ids(kafka_settings) == []  # a dry run writes nothing

    first = replay_dead_letters(kafka_settings, now=later)
    assert (first.tried, first.appended, first.rejected) == (2, 1, {"malformed_json": 1})
    assert logged_event_ids(kafka_settings) == [event_id]

    second = replay_dead_letters(kafka_settings, now=later)
    assert (second.tried, second.appended) == (1, 0)  # only the still-rejected one again
    assert logged_event_ids(kafka_settings) == [event_id]
    with connect(kafka_settings) as conn:
        source = conn.execute(
            "SELECT e.kafka_topic, e.kafka_offset FROM log.behavioral_events e"
        ).fetchall()
        dead = conn.execute(
            "SELECT kafka_topic, kafka_offset FROM log.dead_letters WHERE reason = "
            "'occurred_in_future'"
        ).fetchall()
        outcomes = conn.execute(
            "SELECT outcome, reason FROM log.dead_letter_replays ORDER BY id"
        ).fetchall()
    assert source == dead  # provenance: the original message
    assert outcomes == [
        ("appended", None), ("rejected", "malformed_json"), ("rejected", "malformed_json"),
    ]
    assert len(dead_letter_rows(kafka_settings)) == 2  # dead letters are never removed


def test_filters_select_what_a_replay_tries(kafka_settings: Settings) -> None:
    _dead_letters(kafka_settings)
    none = replay_dead_letters(kafka_settings, DeadLetterFilter(reason="oversized"))
    assert none.tried == 0
    only = replay_dead_letters(kafka_settings, DeadLetterFilter(reason="malformed_json"))
    assert (only.tried, only.rejected) == (1, {"malformed_json": 1})
    # Without the clock moving, the future event is still in the future.
    future = replay_dead_letters(kafka_settings, DeadLetterFilter(reason="occurred_in_future"))
    assert future.rejected == {"occurred_in_future": 1}


def test_the_commands_list_show_and_replay(
    kafka_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, raws = _dead_letters(kafka_settings)
    for name, value in {
        "LEARNSTREAM_DATABASE_URL": kafka_settings.resolved_database_url,
        "LEARNSTREAM_KAFKA_BOOTSTRAP": kafka_settings.resolved_kafka_bootstrap,
        "LEARNSTREAM_TOPIC_NAMESPACE": kafka_settings.topic_namespace,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps table cells to the terminal width
    runner = CliRunner()
    listed = runner.invoke(app, ["dead-letters", "list", "--reason", "malformed_json"])
    assert listed.exit_code == 0, listed.output
    assert "malformed_json" in listed.output and "occurred_in_future" not in listed.output
    assert "1 dead letters shown" in listed.output
    (row,) = [r for r in dead_letter_rows(kafka_settings) if r["reason"] == "malformed_json"]
    shown = runner.invoke(app, ["dead-letters", "show", str(row["id"]), "--raw"])
    assert shown.exit_code == 0 and shown.stdout_bytes == raws[1]
    missing = runner.invoke(app, ["dead-letters", "show", "999999"])
    assert missing.exit_code == 1 and "no dead letter 999999" in missing.output
    replayed = runner.invoke(app, ["dead-letters", "replay", "--dry-run"])
    assert replayed.exit_code == 0, replayed.output
    assert "tried 2: would append 0" in replayed.output
    assert "still rejected 2 (1 malformed_json, 1 occurred_in_future)" in replayed.output
    bad = runner.invoke(app, ["dead-letters", "list", "--status", "lost"])
    assert bad.exit_code == 2


def test_replays_are_append_only(kafka_settings: Settings) -> None:
    _dead_letters(kafka_settings)
    replay_dead_letters(kafka_settings)
    with connect(kafka_settings) as conn, pytest.raises(Exception, match="append-only"):
        conn.execute("UPDATE log.dead_letter_replays SET outcome = 'appended'")
