"""The compose health checks see a stalled service, not just a live server: ingest with
messages waiting and nothing appended, a projection that failed or falls behind."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.health import check_ingest, check_projections, ingest_backlog
from ingest.emitter import produce
from ingest.topics import ensure_topics
from learnstream.errors import Unhealthy
from learnstream.settings import Settings
from projections.runner import project_until_caught_up
from projections.sessions import SessionProjection
from testing.ingest import ingest_until_idle
from tests.examples import all_examples, spread
from tests.integration.projection_support import append, wait_readable
from tests.projection_histories import random_history

pytestmark = pytest.mark.integration


def test_ingest_is_unhealthy_while_messages_wait_and_nothing_is_appended(
    kafka_settings: Settings,
) -> None:
    ensure_topics(kafka_settings)
    assert check_ingest(kafka_settings, max_stall_s=0) == "caught up"
    events = spread(all_examples())
    produce(kafka_settings, events)
    assert ingest_backlog(kafka_settings) == len(events)
    # No ingest runs: the messages wait and the (empty) log never grew.
    with pytest.raises(Unhealthy, match=f"{len(events)} messages wait"):
        check_ingest(kafka_settings, max_stall_s=60)

    ingest_until_idle(kafka_settings)

    assert ingest_backlog(kafka_settings) == 0
    assert check_ingest(kafka_settings, max_stall_s=0) == "caught up"


def test_a_recent_append_keeps_ingest_healthy_with_a_backlog(kafka_settings: Settings) -> None:
    ensure_topics(kafka_settings)
    produce(kafka_settings, all_examples()[:3])
    ingest_until_idle(kafka_settings)
    produce(kafka_settings, all_examples()[3:5])
    assert "2 messages waiting" in check_ingest(kafka_settings, max_stall_s=3600)
    time.sleep(1.1)
    with pytest.raises(Unhealthy):
        check_ingest(kafka_settings, max_stall_s=1)


def test_projections_are_unhealthy_when_behind_and_healthy_once_caught_up(
    db_settings: Settings,
) -> None:
    projection = SessionProjection()
    assert "1 projections" in check_projections(db_settings, [projection], max_lag_s=0)
    append(db_settings, random_history(4, 50))
    wait_readable(db_settings)
    time.sleep(1.1)
    with pytest.raises(Unhealthy, match=r"sessions is \d+ rows"):
        check_projections(db_settings, [projection], max_lag_s=1)
    assert check_projections(db_settings, [projection], max_lag_s=3600)

    project_until_caught_up(db_settings, [projection])

    assert "oldest unapplied row 0s" in check_projections(db_settings, [projection], 0)


def test_the_health_command_exits_1_with_one_line(
    kafka_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_topics(kafka_settings)
    produce(kafka_settings, all_examples()[:2])
    for name, value in {
        "LEARNSTREAM_DATABASE_URL": kafka_settings.resolved_database_url,
        "LEARNSTREAM_KAFKA_BOOTSTRAP": kafka_settings.resolved_kafka_bootstrap,
        "LEARNSTREAM_TOPIC_NAMESPACE": kafka_settings.topic_namespace,
        "LEARNSTREAM_INGEST__CONSUMER_GROUP": kafka_settings.ingest.consumer_group,
    }.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["health", "--ingest", "--max-stall", "30"])
    assert result.exit_code == 1, result.output
    assert "unhealthy: ingest is stalled: 2 messages wait" in " ".join(result.output.split())
    assert "Traceback" not in result.output
