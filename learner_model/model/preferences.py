"""Preferences: decayed evidence per content characteristic, shrunk toward the population.

For each key (``format:podcast``, ``genre:mystery``, ``topic:food``, ``difficulty:...``) the
state keeps the time-decayed sum of signal strengths and of exposures. The reported weight is
the posterior mean of the learner's signal on that key::

    weight_k = (signal_k + m * population_k) / (exposure_k + m)

so a learner with no data gets the population's weight (cold start) and one with much data
gets their own. Decay uses event times (not the clock), so a rebuild gives the same values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from learner_model.model.observations import Signal

#: Evidence loses half its weight after this many days without being refreshed.
HALF_LIFE_DAYS = 30.0
#: Prior strength in pseudo-events: how many signals it takes to move halfway from the
#: population toward the learner's own mean.
PRIOR_STRENGTH = 3.0


@dataclass(frozen=True, slots=True)
class PreferenceState:
    signal: Mapping[str, float] = field(default_factory=dict)
    exposure: Mapping[str, float] = field(default_factory=dict)
    type_signal: Mapping[str, float] = field(default_factory=dict)
    type_exposure: Mapping[str, float] = field(default_factory=dict)
    decayed_at: datetime | None = None
    signals: int = 0


def _decay(values: Mapping[str, float], factor: float) -> dict[str, float]:
    return {k: v * factor for k, v in values.items()}


def update_preferences(state: PreferenceState, signal: Signal, at: datetime,
                       half_life_days: float = HALF_LIFE_DAYS) -> PreferenceState:
    """The preference state after one signal at time ``at`` (pure)."""
    factor = 1.0
    if state.decayed_at is not None and at > state.decayed_at:
        days = (at - state.decayed_at).total_seconds() / 86_400.0
        factor = math.pow(0.5, days / half_life_days)
    decayed_at = at if state.decayed_at is None or at > state.decayed_at else state.decayed_at
    sig, exp_ = _decay(state.signal, factor), _decay(state.exposure, factor)
    tsig, texp = _decay(state.type_signal, factor), _decay(state.type_exposure, factor)
    for key in signal.keys:
        sig[key] = sig.get(key, 0.0) + signal.strength
        exp_[key] = exp_.get(key, 0.0) + abs(signal.strength)
    if signal.content_type is not None:
        t = signal.content_type
        tsig[t] = tsig.get(t, 0.0) + signal.strength
        texp[t] = texp.get(t, 0.0) + abs(signal.strength)
    return replace(state, signal=sig, exposure=exp_, type_signal=tsig, type_exposure=texp,
                   decayed_at=decayed_at, signals=state.signals + 1)


def shrunk_weights(signal: Mapping[str, float], exposure: Mapping[str, float],
                   population: Mapping[str, float],
                   prior_strength: float = PRIOR_STRENGTH) -> dict[str, float]:
    """Weight per key in [-1, 1]: the learner's mean signal shrunk toward the population's."""
    keys = sorted(set(signal) | set(population))
    return {
        k: (signal.get(k, 0.0) + prior_strength * population.get(k, 0.0))
        / (exposure.get(k, 0.0) + prior_strength)
        for k in keys
    }
