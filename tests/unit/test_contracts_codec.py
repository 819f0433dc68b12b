"""The codec: every hostile kind is refused with its reason; every event type round-trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from learnstream.contracts import EVENT_TYPES, Topic, decode_event, decode_parsed, encode_event
from learnstream.errors import EventRejected, RejectionReason
from tests.examples import EXAMPLE_BUILDERS, example, hostile_corpus

HOSTILE = hostile_corpus()


@pytest.mark.parametrize(("topic", "raw", "reason"), [h[1:] for h in HOSTILE],
                         ids=[h[0] for h in HOSTILE])
def test_hostile_message_is_rejected_with_its_reason(topic: Topic, raw: bytes, reason: str) -> None:
    with pytest.raises(EventRejected) as caught:
        decode_event(raw, topic=topic)
    assert caught.value.reason == RejectionReason(reason)
    assert caught.value.detail


def test_corpus_covers_every_codec_reason() -> None:
    covered = {RejectionReason(h[3]) for h in HOSTILE}
    # UNSTORABLE is decided by the database, not the codec.
    assert covered == set(RejectionReason) - {RejectionReason.UNSTORABLE}


@pytest.mark.parametrize("event_type", list(EXAMPLE_BUILDERS))
def test_every_event_type_round_trips(event_type: str) -> None:
    event = EXAMPLE_BUILDERS[event_type]()
    decoded = decode_event(encode_event(event), topic=event.topic)
    assert type(decoded) is EVENT_TYPES[event_type]
    assert decoded == event


def test_examples_cover_every_event_type() -> None:
    assert set(EXAMPLE_BUILDERS) == set(EVENT_TYPES)


def test_rejection_keeps_event_id_and_type_when_readable() -> None:
    wire = orjson.loads(encode_event(example("content.liked")))
    wire["payload"]["reaction_type"] = "meh"
    with pytest.raises(EventRejected) as caught:
        decode_event(orjson.dumps(wire), topic=Topic.LIKES)
    assert caught.value.event_id == wire["event_id"]
    assert caught.value.event_type == "content.liked"


def test_nul_deep_inside_the_payload_is_refused_and_located() -> None:
    wire = orjson.loads(encode_event(example("content.saved")))
    wire["payload"]["content_data"] = {"items": [{"q": "ok"}, {"q": "bad\u0000"}]}
    with pytest.raises(EventRejected) as caught:
        decode_event(orjson.dumps(wire), topic=Topic.ACTIVITY)
    assert caught.value.reason == RejectionReason.INVALID_FIELD
    assert "payload.content_data.items[1].q" in caught.value.detail


def test_escaped_backslash_u0000_text_is_not_a_nul() -> None:
    event = example("feedback.submitted", payload={"feedback_text": "literal \\u0000 text"})
    assert decode_event(encode_event(event)) == event


def test_future_skew_is_measured_from_now() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    event = example("course.enrolled", occurred_at=now + timedelta(hours=1))
    raw = encode_event(event)
    assert decode_event(raw, now=now, max_future_skew=timedelta(hours=2)) == event
    with pytest.raises(EventRejected) as caught:
        decode_event(raw, now=now, max_future_skew=timedelta(minutes=30))
    assert caught.value.reason == RejectionReason.OCCURRED_IN_FUTURE


def test_size_limit_is_configurable() -> None:
    raw = encode_event(example("learner.identified"))
    assert decode_event(raw, max_bytes=len(raw)).event_type == "learner.identified"
    with pytest.raises(EventRejected) as caught:
        decode_event(raw, max_bytes=len(raw) - 1)
    assert caught.value.reason == RejectionReason.OVERSIZED


def _verdict(decode: Any) -> tuple[str, str, str | None] | str:
    try:
        return str(decode().event_id)
    except EventRejected as rejection:
        return (str(rejection.reason), rejection.detail, rejection.event_id)


def _parses(raw: bytes) -> bool:
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    return True


#: What a caller holding a parsed object can see: the corpus less what is not JSON.
PARSED_CORPUS = [case for case in hostile_corpus() if _parses(case[2])]


@pytest.mark.parametrize("name, topic, raw, reason", PARSED_CORPUS,
                         ids=[case[0] for case in PARSED_CORPUS])
def test_decode_parsed_gives_decode_events_verdict_for_every_hostile_message(
    name: str, topic: Topic | None, raw: bytes, reason: str
) -> None:
    data = orjson.loads(raw)
    now = datetime.now(UTC)
    expected = _verdict(lambda: decode_event(raw, topic=topic, now=now))
    assert isinstance(expected, tuple) and expected[0] == reason
    assert _verdict(lambda: decode_parsed(data, raw, topic=topic, now=now)) == expected


def test_decode_parsed_accepts_every_example_as_decode_event_does() -> None:
    for builder in EXAMPLE_BUILDERS:
        raw = encode_event(example(builder))
        assert decode_parsed(orjson.loads(raw), raw) == decode_event(raw)
