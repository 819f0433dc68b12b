"""Behavioural aggregates for the ablation: each answer sees only the behaviour before it."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta

from learner_model.evaluation.behaviour import BEHAVIOUR_FEATURES, behaviour_rows
from learnstream.contracts import (
    AssessmentSubmitted,
    AssessmentSubmittedPayload,
    ContentCharacteristics,
    Envelope,
    PlaybackCompleted,
    PlaybackPayload,
    PlaybackReplayed,
    PlaybackSeeked,
    PlaybackSkipped,
    SeekPayload,
    SkipPayload,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
CHARS = ContentCharacteristics(format="podcast")


def _common(i: int, learner: str) -> dict[str, object]:
    return {"event_id": uuid.uuid4(), "occurred_at": T0 + timedelta(minutes=i),
            "session_id": f"s-{learner}", "learner_id": learner}


def _answer(i: int, learner: str) -> Envelope:
    return AssessmentSubmitted(**_common(i, learner), payload=AssessmentSubmittedPayload(
        assessment_id="q", skills=["a"], score=1, max_score=1, attempt_number=1))


def test_answers_see_only_earlier_behaviour_of_their_own_learner() -> None:
    events: list[Envelope] = [
        _answer(0, "l"),
        PlaybackCompleted(**_common(1, "l"), content_id="c", payload=PlaybackPayload(
            playback_position=100, content_characteristics=CHARS)),
        PlaybackSkipped(**_common(2, "l"), content_id="c", payload=SkipPayload(
            playback_position=10, playback_position_percent=25.0,
            content_characteristics=CHARS)),
        PlaybackSeeked(**_common(3, "l"), content_id="c", payload=SeekPayload(
            playback_position=5, from_position=50, content_characteristics=CHARS)),
        PlaybackSeeked(**_common(4, "l"), content_id="c", payload=SeekPayload(
            playback_position=90, from_position=50, content_characteristics=CHARS)),
        PlaybackReplayed(**_common(5, "other"), content_id="c", payload=PlaybackPayload(
            playback_position=0, content_characteristics=CHARS)),
        _answer(6, "l"),
        _answer(7, "other"),
    ]
    rows = behaviour_rows(events)
    assert [r.learner for r in rows] == ["l", "l", "other"]
    assert all(set(r.behaviour) == set(BEHAVIOUR_FEATURES) for r in rows)
    assert all(v == 0.0 for v in rows[0].behaviour.values())
    second = rows[1].behaviour
    assert second["completions_log"] == math.log1p(1)
    assert second["skips_log"] == math.log1p(1)
    assert second["seek_backs_log"] == math.log1p(1)  # the forward seek does not count
    assert second["replays_log"] == 0.0  # the replay belongs to the other learner
    assert second["listen_share_mean"] == (1.0 + 0.25) / 2
    assert rows[2].behaviour["replays_log"] == math.log1p(1)
    assert rows[2].behaviour["completions_log"] == 0.0
