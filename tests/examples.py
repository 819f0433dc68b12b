"""One valid example of every event type, for tests of any stage.

``example(event_type, **overrides)`` builds a fresh event (new ``event_id``) of that type;
``all_examples()`` builds one of each. Overrides replace envelope fields
(``learner_id=...``, ``occurred_at=...``) or, with ``payload={...}``, payload fields.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from learnstream.contracts import EVENT_TYPES, Envelope

#: A fixed instant, so examples are reproducible apart from their event ids.
BASE_TIME = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

_CHARACTERISTICS: dict[str, Any] = {
    "format": "narrative",
    "genre": "mystery",
    "topic": "travel",
    "difficulty": "lexical-heavy",
    "difficulty_score": 0.4,
    "level": "B1",
    "language": "it",
}
_PLAYBACK: dict[str, Any] = {
    "playback_position": 42.5,
    "playback_position_percent": 14.17,
    "duration": 300.0,
    "playback_rate": 1.0,
    "content_characteristics": _CHARACTERISTICS,
}

#: event_type -> (envelope fields, payload) of a valid example.
_SPECS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "playback.started": ({"content_id": "story-1"}, {**_PLAYBACK, "playback_position": 0.0}),
    "playback.paused": ({"content_id": "story-1"}, _PLAYBACK),
    "playback.resumed": ({"content_id": "story-1"}, _PLAYBACK),
    "playback.seeked": ({"content_id": "story-1"}, {**_PLAYBACK, "from_position": 10.0}),
    "playback.skipped": (
        {"content_id": "story-1"},
        {**_PLAYBACK, "skipped_to_content_id": "story-2"},
    ),
    "playback.completed": (
        {"content_id": "story-1"},
        {**_PLAYBACK, "playback_position": 300.0, "playback_position_percent": 100.0},
    ),
    "playback.replayed": ({"content_id": "story-1"}, _PLAYBACK),
    "playback.heartbeat": ({"content_id": "story-1"}, _PLAYBACK),
    "content.liked": (
        {"content_id": "story-1"},
        {"reaction_type": "love", "content_characteristics": _CHARACTERISTICS},
    ),
    "content.unliked": (
        {"content_id": "story-1"},
        {"reaction_type": "like", "content_characteristics": _CHARACTERISTICS},
    ),
    "content.requested": (
        {},
        {
            "content_type": "flashcards",
            "query_text": "ordering food at a restaurant",
            "target_language": "it",
            "base_language": "en",
            "request_metadata": {"count": 20},
        },
    ),
    "content.saved": (
        {},
        {
            "content_type": "exercises",
            "original_query": "past tense verbs",
            "content_data": {"items": [{"q": "andare", "a": "andato"}]},
            "user_label": "verbs",
            "requested_event_id": "6f1c7a0e-3a7b-4c2e-9a55-0d7f3f1f6b11",
        },
    ),
    "feedback.submitted": (
        {},
        {
            "rating": 4,
            "feedback_text": "good but a bit long",
            "related_event_id": "6f1c7a0e-3a7b-4c2e-9a55-0d7f3f1f6b11",
        },
    ),
    "course.enrolled": ({}, {"course_id": "italian-a1", "lesson_count": 12}),
    "lesson.started": ({}, {"lesson_id": "a1-l3", "course_id": "italian-a1", "module_id": "m1"}),
    "lesson.position": (
        {},
        {
            "lesson_id": "a1-l3",
            "course_id": "italian-a1",
            "position": {"step": 4},
            "time_spent_delta": 95,
        },
    ),
    "lesson.completed": (
        {},
        {"lesson_id": "a1-l3", "course_id": "italian-a1", "score": 87.5, "time_spent_delta": 60},
    ),
    "assessment.submitted": (
        {},
        {
            "assessment_id": "quiz-a1-l3",
            "lesson_id": "a1-l3",
            "course_id": "italian-a1",
            "skills": ["past-tense", "food-vocabulary"],
            "answers": {"q1": "b", "q2": "a"},
            "score": 7.0,
            "max_score": 10.0,
            "passing_score": 60.0,
            "attempt_number": 2,
            "time_taken": 240,
        },
    ),
    "content.generated": (
        {"content_id": "story-1", "learner_id": None},
        {
            "title": "Un caffè a Roma",
            "format": "narrative",
            "genre": "mystery",
            "topic": "travel",
            "difficulty": "lexical-heavy",
            "difficulty_score": 0.4,
            "duration": 300,
            "word_count": 650,
            "template_id": "story-v2",
            "generation_id": "gen-77",
            "learning_objectives": ["ordering", "numbers"],
        },
    ),
    "content.validated": (
        {"content_id": "story-1", "learner_id": None},
        {"attempt_number": 1, "passed": True, "validation_score": 0.93},
    ),
    "generation.status_changed": (
        {},
        {"generation_id": "gen-77", "status": "completed", "estimated_completion_time": 0},
    ),
    "preferences.updated": (
        {},
        {
            "difficulty_preference": "intermediate",
            "preferred_formats": ["podcast", "narrative"],
            "preferred_genres": ["mystery"],
            "playback_speed": 1.25,
        },
    ),
    "learner.identified": ({}, {"method": "signup"}),
}


def example(event_type: str, **overrides: Any) -> Envelope:
    """A valid ``event_type`` event with a fresh ``event_id``; see the module docstring."""
    envelope, payload = _SPECS[event_type]
    payload = {**payload, **overrides.pop("payload", {})}
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "event_type": event_type,
        "occurred_at": BASE_TIME,
        "session_id": "session-1",
        "learner_id": "learner-1",
        "payload": payload,
        "context": {"platform": "ios", "app_version": "3.2.0", "network_type": "wifi",
                    "device_info": {"model": "iPhone 15"}},
        **envelope,
        **overrides,
    }
    return EVENT_TYPES[event_type].model_validate(fields)


def all_examples(**overrides: Any) -> list[Envelope]:
    """One example of every event type, in registry order."""
    return [example(event_type, **overrides) for event_type in EVENT_TYPES]


#: A builder per event type, for parametrized tests (``ids=list(EXAMPLE_BUILDERS)``).
EXAMPLE_BUILDERS: dict[str, Callable[..., Envelope]] = {
    event_type: (lambda t: lambda **kw: example(t, **kw))(event_type) for event_type in EVENT_TYPES
}


def spread(events: list[Envelope], step: timedelta = timedelta(seconds=1)) -> list[Envelope]:
    """Copies of ``events`` with ``occurred_at`` increasing by ``step`` from BASE_TIME."""
    return [
        e.model_copy(update={"occurred_at": BASE_TIME + i * step}) for i, e in enumerate(events)
    ]


def _wire(event: Envelope) -> dict[str, Any]:
    import orjson

    from learnstream.contracts import encode_event

    parsed: dict[str, Any] = orjson.loads(encode_event(event))
    return parsed


def hostile_corpus() -> list[tuple[str, Any, bytes, str]]:
    """``(name, topic, raw bytes, expected RejectionReason value)`` for every hostile kind.

    Each message is refused by the codec for exactly one reason.
    """
    import orjson

    from learnstream.contracts import Topic

    def dumps(value: Any) -> bytes:
        return orjson.dumps(value)

    started = _wire(example("playback.started"))
    missing = {k: v for k, v in started.items() if k != "session_id"}
    wrong_type = {**started, "payload": {**started["payload"], "playback_position": "far"}}
    future = {**started, "occurred_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()}
    huge = _wire(example("assessment.submitted"))
    huge["payload"] = {**huge["payload"], "score": 1e300, "max_score": 1e301}
    nul = {**started, "session_id": "evil\u0000session"}
    oversized = {**started, "context": {"padding": "x" * (70 * 1024)}}
    return [
        ("malformed_json", Topic.BEHAVIOR, b'{"event_id": "1", ', "malformed_json"),
        ("not_utf8", Topic.BEHAVIOR, b"\xff\xfe\x00garbage", "malformed_json"),
        ("empty", Topic.LIKES, b"", "malformed_json"),
        ("not_an_object", Topic.BEHAVIOR, b"[1, 2, 3]", "not_an_object"),
        ("missing_event_type", Topic.BEHAVIOR,
         dumps({k: v for k, v in started.items() if k != "event_type"}), "missing_event_type"),
        ("unknown_type", Topic.BEHAVIOR, dumps({**started, "event_type": "playback.teleported"}),
         "unknown_event_type"),
        ("unknown_schema_version", Topic.BEHAVIOR, dumps({**started, "schema_version": 99}),
         "unsupported_schema_version"),
        ("missing_field", Topic.BEHAVIOR, dumps(missing), "missing_field"),
        ("wrong_type", Topic.BEHAVIOR, dumps(wrong_type), "invalid_field"),
        ("oversized", Topic.BEHAVIOR, dumps(oversized), "oversized"),
        ("far_future", Topic.BEHAVIOR, dumps(future), "occurred_in_future"),
        ("wrong_topic", Topic.LIKES, dumps(started), "wrong_topic"),
        ("nul_bytes", Topic.BEHAVIOR, dumps(nul), "invalid_field"),
        ("huge_numbers", Topic.LEARNING, dumps(huge), "invalid_field"),
        ("infinite_number", Topic.LEARNING,
         dumps(huge).replace(b"1e300", b"1e999").replace(b"1e+300", b"1e999"), "malformed_json"),
    ]
