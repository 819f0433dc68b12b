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
    """What the controller does from a learner's current state, and that in one sentence.

    ``expected_success`` is at the current ``adjustment`` (what the recommender uses now);
    ``next`` is :func:`next_adjustment` at the current ability estimate, so ``next ==
    adjustment`` means no change, and ``expected_success_next`` is where that puts it.
    """

    adjustment: float
    expected_success: float
    next: float
    expected_success_next: float
    text: str


def percent(p: float) -> str:
    """``p`` as a percentage with one decimal, rounded away from the band when outside it,
    so a value outside the band never reads as one inside (84.96 % inside shows 85.0 %,
    85.01 % above shows 85.1 %)."""
    tenths = p * 1000
    shown = math.ceil(tenths) if p > BAND_HIGH else math.floor(tenths) if p < BAND_LOW else (
        round(tenths))
    return f"{shown / 10:.1f}%"


def logits(x: float) -> str:
    """A signed adjustment in logits, two decimals (never "-0.00")."""
    return f"{round(x, 2) + 0.0:+.2f} logits"


def explain(ability_logit: float, adjustment: float) -> DifficultyExplanation:
    """The controller's decision for a learner at ``ability_logit`` whose current adjustment
    is ``adjustment``, in words built from :func:`next_adjustment` itself, so the sentence
    and the controller cannot disagree: inside the band (the dead band) or at the clip
    there is no change; otherwise the direction, the new adjustment and its expected
    success."""
    now = expected_success(ability_logit, adjustment)
    nxt = next_adjustment(ability_logit, adjustment)
    after = expected_success(ability_logit, nxt)
    band = f"{BAND_LOW:.0%}-{BAND_HIGH:.0%} target band"
    opening = f"Expected success at adjustment {logits(adjustment)} is {percent(now)}"
    if BAND_LOW <= now <= BAND_HIGH:
        text = f"{opening}, inside the {band} (the dead band): no change."
    else:
        side = "above" if now > BAND_HIGH else "below"
        if nxt == adjustment:
            text = (f"{opening}, {side} the {band}, but the adjustment is at its limit of "
                    f"±{LIMIT:.2f} logits: no change.")
        else:
            direction = "harder" if nxt > adjustment else "easier"
            step = (f"a half-way step toward {TARGET:.1%}" if abs(nxt) < LIMIT else
                    f"a half-way step toward {TARGET:.1%}, clipped to ±{LIMIT:.2f} logits")
            text = (f"{opening}, {side} the {band}: the next graded answer makes content "
                    f"{direction}, to {logits(nxt)}, for {percent(after)} expected success "
                    f"at the current ability ({step}).")
    return DifficultyExplanation(adjustment, now, nxt, after, text)
