"""Events produced with the Emitter land once, in the right log table, fully populated."""

from __future__ import annotations

import pytest

from ingest.emitter import produce
from ingest.rows import FAMILY_COLUMNS
from learnstream.contracts import EVENT_TOPICS, EVENT_TYPES, Topic
from learnstream.log import LOG_TABLES
from learnstream.settings import Settings
from testing.ingest import ingest_until_idle, log_rows, logged_event_ids
from tests.examples import all_examples, example

#: Promoted columns that every event of a family fills (the others depend on the type).
ALWAYS_SET = {
    Topic.BEHAVIOR: {"playback_position", "content_characteristics", "duration"},
    Topic.LIKES: {"reaction_type", "content_characteristics"},
    Topic.ACTIVITY: set(),
    Topic.LEARNING: set(),
    Topic.CATALOG: set(),
}


def test_every_event_type_round_trips_to_its_log_table(kafka_settings: Settings) -> None:
    events = all_examples()
    produce(kafka_settings, events)

    summary = ingest_until_idle(kafka_settings)

    assert summary.inserted == len(EVENT_TYPES)
    assert summary.dead_lettered == 0
    by_id = {str(e.event_id): e for e in events}
    for topic in EVENT_TOPICS:
        rows = log_rows(kafka_settings, topic)
        assert {r["event_type"] for r in rows} == {
            name for name, cls in EVENT_TYPES.items() if cls.topic == topic
        }, LOG_TABLES[topic]
        for row in rows:
            event = by_id[str(row["event_id"])]
            assert row["kafka_topic"] == kafka_settings.topic(topic)
            assert row["occurred_at"] == event.occurred_at
            assert row["session_id"] == event.session_id
            assert row["learner_id"] == event.learner_id
            assert row["content_id"] == event.content_id
            assert row["payload"] == event.payload.model_dump(mode="json", exclude_none=True)
            assert row["context"]["platform"] == "ios"
            assert row["tx_id"] is not None and row["position"] > 0
            for column in ALWAYS_SET[topic]:
                assert row[column] is not None, (row["event_type"], column)
            assert set(FAMILY_COLUMNS[topic]) <= set(FAMILY_COLUMNS[topic])


def test_promoted_columns_hold_the_payload_values(kafka_settings: Settings) -> None:
    seek = example("playback.seeked")
    assessment = example("assessment.submitted")
    feedback = example("feedback.submitted")
    status = example("generation.status_changed")
    produce(kafka_settings, [seek, assessment, feedback, status])

    ingest_until_idle(kafka_settings)

    (behavior,) = log_rows(kafka_settings, Topic.BEHAVIOR)
    assert float(behavior["playback_position"]) == 42.5
    assert float(behavior["duration"]) == 300.0
    assert behavior["device_info"] == {"model": "iPhone 15"}
    assert behavior["network_type"] == "wifi"
    assert behavior["content_characteristics"]["format"] == "narrative"
    (learning,) = log_rows(kafka_settings, Topic.LEARNING)
    assert (learning["assessment_id"], float(learning["score"]), float(learning["max_score"])) == (
        "quiz-a1-l3", 7.0, 10.0,
    )
    assert (learning["attempt_number"], learning["time_taken"]) == (2, 240)
    (activity,) = log_rows(kafka_settings, Topic.ACTIVITY)
    assert activity["rating"] == 4
    assert str(activity["related_event_id"]) == "6f1c7a0e-3a7b-4c2e-9a55-0d7f3f1f6b11"
    (catalog,) = log_rows(kafka_settings, Topic.CATALOG)
    assert (catalog["generation_id"], catalog["status"]) == ("gen-77", "completed")


@pytest.mark.parametrize("copies", [3])
def test_duplicates_leave_one_row(kafka_settings: Settings, copies: int) -> None:
    events = all_examples()
    # The same events sent `copies` times (client resends), then once more by a second
    # producer after the first run has ingested them (producer restart resend).
    produce(kafka_settings, [e for e in events for _ in range(copies)])
    first = ingest_until_idle(kafka_settings)
    produce(kafka_settings, events)
    second = ingest_until_idle(kafka_settings)

    ids = logged_event_ids(kafka_settings)
    assert sorted(ids) == sorted(str(e.event_id) for e in events)
    assert first.inserted == len(events)
    assert first.duplicates == len(events) * (copies - 1)
    assert (second.inserted, second.duplicates) == (0, len(events))
