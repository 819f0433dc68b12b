"""``learnstream learner explain``: a learner's state and the events that moved it most."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from learner_model.model.ability import ability_logit
from learner_model.model.difficulty import explain as explain_difficulty
from learner_model.model.state import LearnerState, ModelParams, StateView, fold, view
from learnstream.contracts import Envelope


@dataclass(frozen=True, slots=True)
class Movement:
    position: int
    event: Envelope
    ability_change: float
    adjustment_change: float
    preference_change: float

    @property
    def size(self) -> float:
        return abs(self.ability_change) + abs(self.adjustment_change) + self.preference_change


@dataclass(frozen=True, slots=True)
class Explanation:
    view: StateView
    difficulty_text: str
    top: list[Movement]


def explain(learner_id: str, events: Sequence[tuple[int, Envelope]], params: ModelParams,
            top: int = 10) -> Explanation:
    """Replay the learner's events, measuring how much each moved the state."""
    state = LearnerState.new(learner_id)
    moves = []
    for position, event in events:
        before_a = ability_logit(state.ability, params.ability)
        before_v = view(state, params)
        state = fold(state, event, params)
        after_v = view(state, params)
        pref = sum(abs(after_v.preference_weights.get(k, 0.0) - before_v.preference_weights.get(
            k, 0.0)) for k in set(after_v.preference_weights) | set(before_v.preference_weights))
        moves.append(Movement(position, event,
                              ability_logit(state.ability, params.ability) - before_a,
                              after_v.difficulty_adjustment - before_v.difficulty_adjustment,
                              pref))
    final = view(state, params)
    text = explain_difficulty(final.ability_logit, final.difficulty_adjustment).text
    moves.sort(key=lambda m: m.size, reverse=True)
    return Explanation(final, text, moves[:top])
