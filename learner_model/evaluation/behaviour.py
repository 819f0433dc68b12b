"""Per-learner behavioural aggregates as candidate ability features (an ablation, not the
live model).

Issue 4 lets behavioural signals (completion, skip, replay, seek-back, listening share) into
the ability model only where they measurably improve answer prediction. This module builds,
for every graded answer, the learner's behaviour *before* that answer, so
``bench/model_ablation.py`` can fit the ability features with and without them on the same
time split and compare. The live fold does not use them (the measurement did not earn them a
place; see the README, "Learner model").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from learner_model.model.observations import Outcome, learner_key, listened_share, outcome_of
from learnstream.contracts import (
    Envelope,
    PlaybackCompleted,
    PlaybackReplayed,
    PlaybackSeeked,
    PlaybackSkipped,
)

#: Names of the behavioural features, in design-matrix order.
BEHAVIOUR_FEATURES: tuple[str, ...] = (
    "completions_log",
    "skips_log",
    "replays_log",
    "seek_backs_log",
    "listen_share_mean",
)


@dataclass(frozen=True, slots=True)
class Behaviour:
    """A learner's playback behaviour so far (counts; listened share summed over finished
    or skipped pieces)."""

    completions: int = 0
    skips: int = 0
    replays: int = 0
    seek_backs: int = 0
    listened: float = 0.0

    def observe(self, event: Envelope) -> Behaviour:
        """The behaviour after ``event`` (pure; events that are not playback leave it)."""
        if isinstance(event, PlaybackCompleted):
            return replace(self, completions=self.completions + 1, listened=self.listened + 1.0)
        if isinstance(event, PlaybackSkipped):
            p = event.payload
            share = listened_share(p.playback_position, p.playback_position_percent, p.duration)
            return replace(self, skips=self.skips + 1, listened=self.listened + share)
        if isinstance(event, PlaybackReplayed):
            return replace(self, replays=self.replays + 1)
        if isinstance(event, PlaybackSeeked) and (
                event.payload.playback_position < event.payload.from_position):
            return replace(self, seek_backs=self.seek_backs + 1)
        return self

    def features(self) -> dict[str, float]:
        """Log counts and the mean listened share (0 before any finished or skipped piece:
        the zero counts already say there is no evidence)."""
        finished = self.completions + self.skips
        return {
            "completions_log": math.log1p(self.completions),
            "skips_log": math.log1p(self.skips),
            "replays_log": math.log1p(self.replays),
            "seek_backs_log": math.log1p(self.seek_backs),
            "listen_share_mean": self.listened / finished if finished else 0.0,
        }


@dataclass(frozen=True, slots=True)
class BehaviourRow:
    """One graded answer with the learner's behaviour before it."""

    learner: str
    outcome: Outcome
    event: Envelope
    behaviour: dict[str, float]


def behaviour_rows(events: Iterable[Envelope]) -> list[BehaviourRow]:
    """Every graded answer in ``events`` (in order) with the learner's earlier behaviour."""
    state: dict[str, Behaviour] = {}
    out: list[BehaviourRow] = []
    for event in events:
        key = learner_key(event)
        b = state.get(key) or Behaviour()
        o = outcome_of(event)
        if o is not None:
            out.append(BehaviourRow(key, o, event, b.features()))
        state[key] = b.observe(event)
    return out
