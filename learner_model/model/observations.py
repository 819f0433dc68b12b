"""What the learner model reads from an event.

Two kinds of evidence come out of the log:

* an :class:`Outcome` (graded: an assessment attempt, a scored lesson) feeds ability and
  content difficulty;
* a :class:`Signal` (like, completion, skip, replay, seek-back, listening share) feeds
  preferences. Behavioural signals do *not* enter ability: as ability features they did not
  improve answer prediction on simulated data (``bench/model_ablation.py``; see the README,
  "Learner model"), so they stay on the preference side.

Both are extracted by the same functions for live events and for replayed datasets, so the
benchmark exercises the code path that serves learners.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from learnstream.contracts import (
    AssessmentSubmitted,
    ContentCharacteristics,
    ContentLiked,
    ContentRequested,
    ContentSaved,
    ContentUnliked,
    Envelope,
    LessonCompleted,
    PlaybackCompleted,
    PlaybackHeartbeat,
    PlaybackReplayed,
    PlaybackSeeked,
    PlaybackSkipped,
)

#: Event types the learner model folds; everything else leaves the state unchanged.
MODEL_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "assessment.submitted",
        "lesson.completed",
        "content.liked",
        "content.unliked",
        "playback.completed",
        "playback.skipped",
        "playback.replayed",
        "playback.seeked",
        "playback.heartbeat",
        "content.requested",
        "content.saved",
    }
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One graded answer: ``value`` in [0, 1] (score / max_score). ``declared`` is the
    item's declared difficulty (0..1) when the event carries one."""

    item_id: str
    skills: tuple[str, ...]
    value: float
    declared: float | None = None


@dataclass(frozen=True, slots=True)
class Signal:
    """One preference signal about content with the given characteristics.

    ``strength`` is signed: +1 a like or a completion, -1 a skip or an unlike.
    ``content_type`` names the kind of content (format or requested type) for
    ``content_type_preferences``.
    """

    keys: tuple[str, ...]
    content_type: str | None
    strength: float


def learner_key(event: Envelope) -> str:
    """The learner an event belongs to: the learner id, else the anonymous session."""
    return event.learner_id or event.session_id


def event_time(event: Envelope) -> datetime:
    return event.occurred_at


def outcome_of(event: Envelope) -> Outcome | None:
    """The graded outcome an event carries, if any."""
    if isinstance(event, AssessmentSubmitted):
        p = event.payload
        skills = tuple(sorted(set(p.skills))) or (_default_skill(p.lesson_id, p.course_id),)
        return Outcome(p.assessment_id, skills, min(1.0, p.score / p.max_score),
                       p.declared_difficulty)
    if isinstance(event, LessonCompleted) and event.payload.score is not None:
        lesson = event.payload
        # A lesson score is one (coarser) answer on the lesson as an item.
        return Outcome(f"lesson:{lesson.lesson_id}",
                       (_default_skill(lesson.lesson_id, lesson.course_id),),
                       event.payload.score / 100.0)
    return None


def _default_skill(lesson_id: str | None, course_id: str | None) -> str:
    # Items without declared skills are grouped by course (else one shared bucket), so they
    # still accumulate practice counts.
    return f"course:{course_id}" if course_id else (f"lesson:{lesson_id}" if lesson_id else "*")


def characteristic_keys(c: ContentCharacteristics) -> tuple[str, ...]:
    """Preference keys of content, e.g. ``format:podcast``, ``genre:mystery``."""
    keys = [f"format:{c.format}"]
    if c.genre:
        keys.append(f"genre:{c.genre}")
    if c.topic:
        keys.append(f"topic:{c.topic}")
    if c.difficulty:
        keys.append(f"difficulty:{c.difficulty}")
    if c.level:
        keys.append(f"level:{c.level}")
    return tuple(keys)


#: Signal strength per behavioural event. Completion and likes are the clearest positive
#: evidence; a replay is a softer positive; a skip is negative in proportion to how early.
_LIKE = 1.0
_COMPLETE = 1.0
_REPLAY = 0.5
_SEEK_BACK = 0.2
_REQUEST = 0.5
_SAVE = 1.0


def signal_of(event: Envelope) -> Signal | None:
    """The preference signal an event carries, if any."""
    if isinstance(event, ContentLiked | ContentUnliked):
        c = event.payload.content_characteristics
        sign = _LIKE if isinstance(event, ContentLiked) else -_LIKE
        return Signal(characteristic_keys(c), c.format, sign)
    if isinstance(event, PlaybackCompleted):
        c = event.payload.content_characteristics
        return Signal(characteristic_keys(c), c.format, _COMPLETE)
    if isinstance(event, PlaybackReplayed):
        c = event.payload.content_characteristics
        return Signal(characteristic_keys(c), c.format, _REPLAY)
    if isinstance(event, PlaybackSkipped):
        p = event.payload
        listened = listened_share(p.playback_position, p.playback_position_percent, p.duration)
        # Skipping after hearing most of it says little; skipping at the start says most.
        return Signal(characteristic_keys(p.content_characteristics),
                      p.content_characteristics.format, -(1.0 - listened))
    if isinstance(event, PlaybackSeeked):
        seek = event.payload
        if seek.playback_position < seek.from_position:  # seek back: re-listening, interest
            return Signal(characteristic_keys(seek.content_characteristics),
                          seek.content_characteristics.format, _SEEK_BACK)
        return None
    if isinstance(event, PlaybackHeartbeat):
        return None  # listening share is carried by completed/skipped; heartbeats are volume
    if isinstance(event, ContentRequested):
        return Signal((), event.payload.content_type, _REQUEST)
    if isinstance(event, ContentSaved):
        return Signal((), event.payload.content_type, _SAVE)
    return None


def listened_share(position: float, percent: float | None, duration: float | None) -> float:
    if percent is not None:
        return max(0.0, min(1.0, percent / 100.0))
    if duration:
        return max(0.0, min(1.0, position / duration))
    return 0.0
