"""The learner state and its fold: ``fold(state, event, params) -> state``.

The state is a projection of the log: folding a learner's events in log order from
``LearnerState.new`` always gives the same state (no clock, no randomness, no I/O), which is
what makes rebuild equality hold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from learner_model.model.ability import (
    AbilityParams,
    AbilityState,
    ability_logit,
    sigmoid,
    theta_sd,
)
from learner_model.model.ability import (
    update as update_ability,
)
from learner_model.model.difficulty import next_adjustment
from learner_model.model.observations import outcome_of, signal_of
from learner_model.model.preferences import PreferenceState, shrunk_weights, update_preferences
from learnstream.contracts import Envelope


@dataclass(frozen=True, slots=True)
class ModelParams:
    """Everything fitted in batch that the online fold uses. One version = one fit."""

    version: str
    ability: AbilityParams
    population_preferences: Mapping[str, float] = field(default_factory=dict)
    population_type_preferences: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def prior(cls) -> ModelParams:
        """Parameters before any fit: neutral ability model, no population preferences."""
        return cls("prior", AbilityParams.prior())


@dataclass(frozen=True, slots=True)
class LearnerState:
    learner_id: str
    ability: AbilityState = field(default_factory=AbilityState)
    preferences: PreferenceState = field(default_factory=PreferenceState)
    difficulty_adjustment: float = 0.0
    data_points: int = 0
    last_event_at: datetime | None = None

    @classmethod
    def new(cls, learner_id: str) -> LearnerState:
        return cls(learner_id)


def fold(state: LearnerState, event: Envelope, params: ModelParams) -> LearnerState:
    """The state after ``event`` (pure; events the model does not use change nothing)."""
    outcome = outcome_of(event)
    signal = signal_of(event)
    if outcome is None and signal is None:
        return state
    ability, prefs, adjustment = state.ability, state.preferences, state.difficulty_adjustment
    if outcome is not None:
        ability = update_ability(ability, outcome, params.ability)
        adjustment = next_adjustment(ability_logit(ability, params.ability), adjustment)
    if signal is not None:
        prefs = update_preferences(prefs, signal, event.occurred_at)
    last = state.last_event_at
    return replace(
        state,
        ability=ability,
        preferences=prefs,
        difficulty_adjustment=adjustment,
        data_points=state.data_points + 1,
        last_event_at=event.occurred_at if last is None or event.occurred_at > last else last,
    )


# ---- the view the recommender reads (seed 002's learner_model_state columns) ----

#: Below this many graded answers the ability estimate is mostly the population prior.
COLD_START_OUTCOMES = 5


@dataclass(frozen=True, slots=True)
class StateView:
    """The read-model row for one learner."""

    learner_id: str
    comprehension_level: float
    comprehension_low: float
    comprehension_high: float
    ability_logit: float
    ability_sd: float
    preference_weights: dict[str, float]
    content_type_preferences: dict[str, float]
    difficulty_adjustment: float
    data_points: int
    outcomes: int
    cold_start: bool
    model_version: str
    last_event_at: datetime | None


def view(state: LearnerState, params: ModelParams) -> StateView:
    """What the recommender sees: comprehension with a 95% interval, shrunk preferences."""
    a = ability_logit(state.ability, params.ability)
    sd = theta_sd(state.ability, params.ability)
    p = state.preferences
    return StateView(
        learner_id=state.learner_id,
        comprehension_level=round(sigmoid(a), 4),
        comprehension_low=round(sigmoid(a - 1.96 * sd), 4),
        comprehension_high=round(sigmoid(a + 1.96 * sd), 4),
        ability_logit=round(a, 6),
        ability_sd=round(sd, 6),
        preference_weights=_rounded(shrunk_weights(p.signal, p.exposure,
                                                   params.population_preferences)),
        content_type_preferences=_rounded(shrunk_weights(
            p.type_signal, p.type_exposure, params.population_type_preferences)),
        difficulty_adjustment=round(state.difficulty_adjustment, 4),
        data_points=state.data_points,
        outcomes=state.ability.outcomes,
        cold_start=state.ability.outcomes < COLD_START_OUTCOMES,
        model_version=params.version,
        last_event_at=state.last_event_at,
    )


def _rounded(values: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in values.items()}


# ---- persistence form (JSONB): exact, so a stored state continues the fold identically ----

def state_to_json(state: LearnerState) -> dict[str, Any]:
    a, p = state.ability, state.preferences
    return {
        "learner_id": state.learner_id,
        "ability": {
            "total_correct": a.total_correct, "total_wrong": a.total_wrong,
            "skills": {k: [c, w, list(last)] for k, (c, w, last) in a.skills.items()},
            "items": {k: [c, w] for k, (c, w) in a.items.items()},
            "recent": list(a.recent),
            "theta": a.theta, "theta_var": a.theta_var, "outcomes": a.outcomes,
        },
        "preferences": {
            "signal": dict(p.signal), "exposure": dict(p.exposure),
            "type_signal": dict(p.type_signal), "type_exposure": dict(p.type_exposure),
            "decayed_at": p.decayed_at.isoformat() if p.decayed_at else None,
            "signals": p.signals,
        },
        "difficulty_adjustment": state.difficulty_adjustment,
        "data_points": state.data_points,
        "last_event_at": state.last_event_at.isoformat() if state.last_event_at else None,
    }


def state_from_json(data: Mapping[str, Any]) -> LearnerState:
    a, p = data["ability"], data["preferences"]
    return LearnerState(
        learner_id=data["learner_id"],
        ability=AbilityState(
            total_correct=a["total_correct"], total_wrong=a["total_wrong"],
            skills={k: (c, w, tuple(last)) for k, (c, w, last) in a["skills"].items()},
            items={k: (c, w) for k, (c, w) in a["items"].items()},
            recent=tuple(a["recent"]),
            theta=a["theta"], theta_var=a["theta_var"], outcomes=a["outcomes"],
        ),
        preferences=PreferenceState(
            signal=dict(p["signal"]), exposure=dict(p["exposure"]),
            type_signal=dict(p["type_signal"]), type_exposure=dict(p["type_exposure"]),
            decayed_at=datetime.fromisoformat(p["decayed_at"]) if p["decayed_at"] else None,
            signals=p["signals"],
        ),
        difficulty_adjustment=data["difficulty_adjustment"],
        data_points=data["data_points"],
        last_event_at=(datetime.fromisoformat(data["last_event_at"])
                       if data["last_event_at"] else None),
    )


def params_to_json(params: ModelParams) -> dict[str, Any]:
    a = params.ability
    return {
        "version": params.version,
        "ability": {
            "version": a.version, "intercept": a.intercept, "item": dict(a.item),
            "skill": dict(a.skill), "skill_correct": dict(a.skill_correct),
            "skill_wrong": dict(a.skill_wrong), "dense": dict(a.dense),
            "default_skill_correct": a.default_skill_correct,
            "default_skill_wrong": a.default_skill_wrong, "window": a.window,
            "skill_window": a.skill_window, "theta_prior_var": a.theta_prior_var,
            "theta_drift_var": a.theta_drift_var,
        },
        "population_preferences": dict(params.population_preferences),
        "population_type_preferences": dict(params.population_type_preferences),
    }


def params_from_json(data: Mapping[str, Any]) -> ModelParams:
    a = data["ability"]
    return ModelParams(
        version=data["version"],
        ability=AbilityParams(
            version=str(a["version"]), intercept=float(a["intercept"]), item=dict(a["item"]),
            skill=dict(a["skill"]), skill_correct=dict(a["skill_correct"]),
            skill_wrong=dict(a["skill_wrong"]), dense=dict(a["dense"]),
            default_skill_correct=float(a["default_skill_correct"]),
            default_skill_wrong=float(a["default_skill_wrong"]), window=int(a["window"]),
            skill_window=int(a["skill_window"]), theta_prior_var=float(a["theta_prior_var"]),
            theta_drift_var=float(a["theta_drift_var"])),
        population_preferences=dict(data["population_preferences"]),
        population_type_preferences=dict(data["population_type_preferences"]),
    )


def is_finite_state(state: LearnerState) -> bool:
    """Guard used by tests: no NaN/inf sneaks into the stored state."""
    return math.isfinite(state.ability.theta) and math.isfinite(state.difficulty_adjustment)
