"""Difficulty adjustment: steer each learner toward a target success-rate band.

Band: **70-85 % expected success** (centre 77.5 %). Below ~70 % learners fail often enough to
disengage and the model sees mostly noise; above ~85 % content teaches little. The band
brackets the "85 % rule" optimum for gradient learners (Wilson et al., Nature Communications
2019) and the 70-80 % success rate tutoring systems commonly target.

``difficulty_adjustment`` is in logits: how much harder (positive) or easier (negative) than a
typical item the next content should be. The controller is a dead-band, damped step:

* inside the band (expected success at the current adjustment within 70-85 %) nothing moves,
  so small fluctuations of the estimate never flip the recommendation (no chatter);
* outside it, the adjustment moves a fraction ``GAIN`` (< 1) of the way to the value that
  would put expected success at the centre, so it approaches monotonically and never
  overshoots (no oscillation);
* it is clipped to ``[-LIMIT, LIMIT]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BAND_LOW = 0.70
BAND_HIGH = 0.85
TARGET = 0.775
GAIN = 0.5
LIMIT = 2.0


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def expected_success(ability_logit: float, adjustment: float) -> float:
    """Expected success on content ``adjustment`` logits harder than typical."""
    return 1.0 / (1.0 + math.exp(-(ability_logit - adjustment)))


def next_adjustment(ability_logit: float, current: float) -> float:
    """The adjustment after the ability estimate moved to ``ability_logit`` (pure)."""
    if BAND_LOW <= expected_success(ability_logit, current) <= BAND_HIGH:
        return current
    ideal = ability_logit - _logit(TARGET)
    step = current + GAIN * (ideal - current)
    return max(-LIMIT, min(LIMIT, step))


@dataclass(frozen=True, slots=True)
class DifficultyExplanation:
    expected_success_typical: float
    expected_success_adjusted: float
    adjustment: float
    text: str


def explain(ability_logit: float, adjustment: float) -> DifficultyExplanation:
    typical = expected_success(ability_logit, 0.0)
    adjusted = expected_success(ability_logit, adjustment)
    if adjustment > 0:
        direction = f"harder by {adjustment:.2f} logits"
    elif adjustment < 0:
        direction = f"easier by {-adjustment:.2f} logits"
    else:
        direction = "at typical difficulty"
    text = (f"Expected success on typical content is {typical:.0%}; recommending content "
            f"{direction} puts it at {adjusted:.0%} (target band "
            f"{BAND_LOW:.0%}-{BAND_HIGH:.0%}).")
    return DifficultyExplanation(typical, adjusted, adjustment, text)
