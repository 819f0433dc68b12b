"""Estimators on hand-checked histories: the ability fold, preferences, the difficulty
controller, metrics and a baseline."""

from __future__ import annotations

import math
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from learner_model.evaluation.baselines import Elo
from learner_model.evaluation.metrics import expected_calibration_error, scores
from learner_model.model.ability import AbilityParams, AbilityState, predict, sigmoid, update
from learner_model.model.difficulty import (
    BAND_HIGH,
    BAND_LOW,
    LIMIT,
    expected_success,
    next_adjustment,
)
from learner_model.model.observations import Outcome, Signal, outcome_of, signal_of
from learner_model.model.preferences import PreferenceState, shrunk_weights, update_preferences
from learnstream.contracts import (
    AssessmentSubmitted,
    AssessmentSubmittedPayload,
    ContentCharacteristics,
    PlaybackSkipped,
    SkipPayload,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_first_answer_moves_theta_by_one_newton_step() -> None:
    params = replace(AbilityParams.prior(), theta_prior_var=1.0)
    s0 = AbilityState()
    assert predict(s0, "q1", ("s",), params) == 0.5
    s1 = update(s0, Outcome("q1", ("s",), 1.0), params)
    # precision 1 + 0.5*0.5 -> var 0.8; theta = 0.8 * (1 - 0.5) = 0.4
    assert s1.theta_var == pytest.approx(0.8)
    assert s1.theta == pytest.approx(0.4)
    assert s1.skills["s"] == (1.0, 0.0, (1.0,))
    assert s1.items["q1"] == (1.0, 0.0)
    p2 = sigmoid(0.4)
    s2 = update(s1, Outcome("q2", ("s",), 0.0), params)
    var2 = 1.0 / (1.0 / 0.8 + p2 * (1 - p2))
    assert s2.theta == pytest.approx(0.4 + var2 * (0.0 - p2))
    assert s2.total_correct == 1.0 and s2.total_wrong == 1.0 and s2.outcomes == 2


def test_logit_adds_item_skill_and_log_count_terms() -> None:
    params = AbilityParams(
        version="t", intercept=0.1, item={"q": -0.5}, skill={"s": 0.2},
        skill_correct={"s": 0.3}, skill_wrong={"s": -0.4},
        dense={"total_correct_log": 0.05, "recent_correct": 1.0}, theta_prior_var=0.0)
    state = AbilityState()
    for y in (1.0, 1.0, 0.0):
        state = update(state, Outcome("other", ("s",), y), params)
    assert state.theta == 0.0  # prior variance 0: no learner residual
    z = (0.1 - 0.5 + 0.2 + 0.3 * math.log1p(2) - 0.4 * math.log1p(1)
         + 0.05 * math.log1p(2) + 1.0 * 2 / 10)
    assert predict(state, "q", ("s",), params) == pytest.approx(sigmoid(z))


def test_windows_keep_only_the_last_outcomes() -> None:
    params = replace(AbilityParams.prior(), window=3, skill_window=2)
    state = AbilityState()
    for y in (1.0, 0.0, 1.0, 1.0):
        state = update(state, Outcome("q", ("s",), y), params)
    assert state.recent == (0.0, 1.0, 1.0)
    assert state.skills["s"][2] == (1.0, 1.0)


def _assessment(score: float, max_score: float, skills: list[str]) -> AssessmentSubmitted:
    return AssessmentSubmitted(
        event_id=uuid.uuid4(), occurred_at=T0, session_id="s1", learner_id="l1",
        payload=AssessmentSubmittedPayload(assessment_id="a1", skills=skills, score=score,
                                           max_score=max_score, attempt_number=1,
                                           course_id="c1"))


def test_outcome_is_score_over_max_and_skills_default_to_course() -> None:
    o = outcome_of(_assessment(6, 8, ["b", "a", "a"]))
    assert o == Outcome("a1", ("a", "b"), 0.75)
    assert outcome_of(_assessment(1, 1, [])) == Outcome("a1", ("course:c1",), 1.0)


def test_early_skip_is_a_strong_negative_signal() -> None:
    chars = ContentCharacteristics(format="podcast", genre="news")
    skip = PlaybackSkipped(
        event_id=uuid.uuid4(), occurred_at=T0, session_id="s1", content_id="c1",
        payload=SkipPayload(playback_position=10, playback_position_percent=10,
                            content_characteristics=chars))
    sig = signal_of(skip)
    assert sig is not None
    assert sig.keys == ("format:podcast", "genre:news")
    assert sig.strength == pytest.approx(-0.9)


def test_preferences_shrink_to_population_and_decay_by_half_life() -> None:
    population = {"genre:news": 0.5}
    empty = PreferenceState()
    assert shrunk_weights(empty.signal, empty.exposure, population) == {"genre:news": 0.5}
    liked = update_preferences(empty, Signal(("genre:news",), "podcast", -1.0), T0)
    # (-1 + 3 * 0.5) / (1 + 3)
    assert shrunk_weights(liked.signal, liked.exposure, population)["genre:news"] == 0.125
    later = update_preferences(liked, Signal(("genre:x",), None, 1.0), T0 + timedelta(days=30))
    assert later.signal["genre:news"] == pytest.approx(-0.5)
    assert later.exposure["genre:news"] == pytest.approx(0.5)


@pytest.mark.parametrize("ability", [-4.0, -1.0, 0.0, 1.2, 3.0, 6.0])
def test_difficulty_controller_converges_into_the_band_without_overshoot(ability: float) -> None:
    adj, history = 0.0, [0.0]
    for _ in range(30):
        adj = next_adjustment(ability, adj)
        history.append(adj)
    steps = np.diff(history)
    assert np.all(steps >= -1e-12) or np.all(steps <= 1e-12)  # monotone: no oscillation
    assert -LIMIT <= adj <= LIMIT
    if abs(ability - math.log(0.775 / 0.225)) < LIMIT:
        assert BAND_LOW <= expected_success(ability, adj) <= BAND_HIGH
    assert next_adjustment(ability, adj) == pytest.approx(adj, abs=1e-2)


def test_difficulty_controller_holds_inside_the_band() -> None:
    ability = math.log(0.8 / 0.2)  # 80% expected at adjustment 0: inside the band
    assert next_adjustment(ability, 0.0) == 0.0


def test_ece_and_scores_on_a_hand_checked_example() -> None:
    y = np.array([0.0, 1.0, 1.0, 1.0])
    p = np.array([0.05, 0.95, 0.95, 0.55])
    # bins: 0 -> {0.05: y 0}, 9 -> {0.95, 0.95: y 1, 1}, 5 -> {0.55: y 1}
    expected = (0.05 + abs(2 - 1.9) + 0.45) / 4
    assert expected_calibration_error(y, p) == pytest.approx(expected)
    s = scores(y, p)
    assert s.auc == 1.0
    assert s.brier == pytest.approx(np.mean((p - y) ** 2))


def test_elo_moves_learner_up_and_item_down_after_a_success() -> None:
    elo = Elo()
    o = Outcome("q", ("s",), 1.0)
    elo.observe("l", o)
    assert elo.theta["l"] == pytest.approx(0.5)
    assert elo.difficulty["q"] == pytest.approx(-0.5)
    assert elo.predict("l", o) == pytest.approx(sigmoid(1.0))
