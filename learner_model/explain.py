"""``learnstream learner explain``: a learner's state and the events that moved it most."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from learner_model.errors import UnknownLearner
from learner_model.model.ability import ability_logit
from learner_model.model.difficulty import DifficultyExplanation
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
    difficulty: DifficultyExplanation
    top: list[Movement]

    @property
    def difficulty_text(self) -> str:
        return self.difficulty.text


def explain(learner_id: str, events: Sequence[tuple[int, Envelope]], params: ModelParams,
            top: int = 10) -> Explanation:
    """Replay the learner's events, measuring how much each moved the state; the ``top``
    (>= 0) that moved it most. :class:`UnknownLearner` when there are no events: a made-up
    cold-start state would read like a real learner's."""
    if not events:
        raise UnknownLearner(f"no events for learner {learner_id!r}: nothing to explain "
                             "(the state API serves this id the cold-start prior)")
    if top < 0:
        raise ValueError(f"top must be >= 0, not {top}")
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
    # The controller's own inputs, unrounded (the view rounds them for display), so the
    # sentence describes exactly what the next update will do.
    difficulty = explain_difficulty(ability_logit(state.ability, params.ability),
                                    state.difficulty_adjustment)
    moves.sort(key=lambda m: m.size, reverse=True)
    return Explanation(view(state, params), difficulty, moves[:top])
