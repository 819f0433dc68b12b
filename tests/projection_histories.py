"""Random event histories for the projection tests (unit and integration).

A history is a list of valid events over a few sessions, learners, contents, lessons and
assessments, with random times (so arrival order differs from occurred_at order) and some
sessions identified as learners (each session to one learner, as the identity rule needs).
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

from learnstream.contracts import Envelope
from tests.examples import BASE_TIME, example

SESSIONS = ("s1", "s2", "s3", "s4")
LEARNER_OF = {"s1": "L1", "s2": "L1", "s3": "L2", "s4": "L3"}
CONTENTS = ("c1", "c2", "c3")
LESSONS = ("a1-l1", "a1-l2", "a1-l3")
FORMATS = ("narrative", "podcast", "educational")
GENRES = ("mystery", "comedy", None)
PLAYBACK = (
    "playback.started",
    "playback.paused",
    "playback.resumed",
    "playback.seeked",
    "playback.skipped",
    "playback.completed",
    "playback.replayed",
    "playback.heartbeat",
)


def _characteristics(rng: random.Random) -> dict[str, Any]:
    genre = rng.choice(GENRES)
    out: dict[str, Any] = {"format": rng.choice(FORMATS)}
    if genre is not None:
        out["genre"] = genre
    return out


def random_event(rng: random.Random) -> Envelope:
    """One random valid event."""
    session = rng.choice(SESSIONS)
    # Events carry the learner id sometimes (logged-in app), often not (anonymous).
    learner = LEARNER_OF[session] if rng.random() < 0.3 else None
    at = BASE_TIME + timedelta(seconds=rng.randrange(0, 3600), microseconds=rng.randrange(0, 10**6))
    env: dict[str, Any] = {
        "session_id": session,
        "learner_id": learner,
        "occurred_at": at,
        # Reproducible ids, so a failing example replays exactly.
        "event_id": uuid.UUID(int=rng.getrandbits(128), version=4),
    }
    kind = rng.choices(
        [
            "playback",
            "like",
            "lesson",
            "enrol",
            "assessment",
            "content",
            "validated",
            "generation",
            "prefs",
            "identify",
            "saved",
            "feedback",
        ],
        weights=[30, 8, 10, 3, 8, 4, 3, 5, 3, 3, 3, 3],
    )[0]
    content = rng.choice(CONTENTS)
    if kind == "playback":
        event_type = rng.choice(PLAYBACK)
        position = round(rng.uniform(0, 300), 2)
        payload: dict[str, Any] = {
            "playback_position": position,
            "playback_rate": rng.choice([1.0, 1.0, 1.25, 0.75]),
            "content_characteristics": _characteristics(rng),
        }
        if event_type == "playback.seeked":
            payload["from_position"] = round(rng.uniform(0, 300), 2)
        return example(event_type, content_id=content, payload=payload, **env)
    if kind == "like":
        event_type = rng.choice(["content.liked", "content.unliked"])
        payload = {
            "reaction_type": rng.choice(["like", "love", "favorite"]),
            "content_characteristics": _characteristics(rng),
        }
        return example(event_type, content_id=content, payload=payload, **env)
    if kind == "lesson":
        event_type = rng.choice(["lesson.started", "lesson.position", "lesson.completed"])
        lesson = rng.choice(LESSONS)
        payload = {
            "lesson_id": lesson,
            "course_id": "italian-a1",
            "time_spent_delta": rng.randrange(0, 300),
        }
        if event_type == "lesson.started":
            payload = {"lesson_id": lesson, "course_id": "italian-a1", "module_id": "m1"}
        elif event_type == "lesson.position":
            payload["position"] = {"step": rng.randrange(1, 9)}
        else:
            payload["score"] = rng.choice([None, round(rng.uniform(0, 100), 1)])
        return example(event_type, payload=payload, **env)
    if kind == "enrol":
        return example(
            "course.enrolled",
            payload={"course_id": "italian-a1", "lesson_count": rng.choice([2, 3])},
            **env,
        )
    if kind == "assessment":
        max_score = rng.choice([1.0, 10.0])
        return example(
            "assessment.submitted",
            payload={
                "assessment_id": rng.choice(["q1", "q2"]),
                "score": rng.choice([0.0, 1.0, max_score / 2]),
                "max_score": max_score,
                "attempt_number": rng.randrange(1, 3),
                "passing_score": rng.choice([None, 60.0]),
            },
            **env,
        )
    if kind == "content":
        return example(
            "content.generated",
            content_id=content,
            payload={"title": rng.choice(["A", "B"]), "duration": rng.randrange(60, 600)},
            **env,
        )
    if kind == "validated":
        return example(
            "content.validated",
            content_id=content,
            payload={"attempt_number": rng.randrange(1, 3), "passed": rng.random() < 0.5},
            **env,
        )
    if kind == "generation":
        status = rng.choice(["queued", "generating", "completed", "failed"])
        payload = {"generation_id": rng.choice(["g1", "g2"]), "status": status}
        if status == "failed":
            payload["error_message"] = "boom"
        if rng.random() < 0.3:
            payload["request_payload"] = {"topic": rng.choice(["food", "travel"])}
        return example(
            "generation.status_changed",
            content_id=content if status == "completed" else None,
            payload=payload,
            **env,
        )
    if kind == "prefs":
        return example(
            "preferences.updated",
            payload={
                "difficulty_preference": rng.choice(["beginner", "advanced"]),
                "playback_speed": rng.choice([1.0, 1.5]),
            },
            **env,
        )
    if kind == "identify":
        return example("learner.identified", **{**env, "learner_id": LEARNER_OF[session]})
    if kind == "saved":
        return example("content.saved", **env)
    return example("feedback.submitted", payload={"rating": rng.randrange(1, 6)}, **env)


def random_history(seed: int, size: int) -> list[Envelope]:
    """``size`` random events, reproducible from ``seed``."""
    rng = random.Random(seed)
    return [random_event(rng) for _ in range(size)]
