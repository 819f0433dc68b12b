"""``learnstream learner explain``: the difficulty sentence follows the controller exactly
(checked over a grid of abilities and adjustments, so text and controller cannot disagree),
an unknown learner says so instead of printing a made-up state, and ``--top`` is >= 0."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from app.cli import app
from learner_model.errors import UnknownLearner
from learner_model.explain import explain
from learner_model.model.ability import ability_logit
from learner_model.model.difficulty import (
    BAND_HIGH,
    BAND_LOW,
    LIMIT,
    expected_success,
    logits,
    next_adjustment,
    percent,
)
from learner_model.model.difficulty import explain as explain_difficulty
from learner_model.model.state import LearnerState, ModelParams, fold
from learnstream.contracts import AssessmentSubmitted, AssessmentSubmittedPayload


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _check_against_the_controller(ability: float, adjustment: float) -> None:
    ex = explain_difficulty(ability, adjustment)
    nxt = next_adjustment(ability, adjustment)
    now = expected_success(ability, adjustment)
    assert (ex.next, ex.expected_success) == (nxt, now)
    shown = float(re.search(r" is (\d+\.\d)%", ex.text).group(1)) / 100  # type: ignore[union-attr]
    inside = BAND_LOW <= now <= BAND_HIGH
    # The quoted figure and the verdict agree with the band, rounding included.
    assert ("inside the" in ex.text) == inside == (BAND_LOW <= shown <= BAND_HIGH)
    assert ("above the" in ex.text) == (now > BAND_HIGH)
    assert ("below the" in ex.text) == (now < BAND_LOW)
    assert f"at adjustment {logits(adjustment)} is {percent(now)}" in ex.text
    # "no change" exactly when the controller leaves the adjustment where it is.
    assert ex.text.endswith("no change.") == (nxt == adjustment)
    if nxt != adjustment:
        direction = "harder" if nxt > adjustment else "easier"
        other = "easier" if direction == "harder" else "harder"
        assert f"makes content {direction}, to {logits(nxt)}" in ex.text
        assert other not in ex.text
        assert f"for {percent(expected_success(ability, nxt))} expected success" in ex.text
        assert ex.expected_success_next == expected_success(ability, nxt)
    else:
        assert "harder" not in ex.text and "easier" not in ex.text
        assert inside or abs(adjustment) == LIMIT  # outside the band only at the clip


@settings(max_examples=400, deadline=None)
@given(ability=st.floats(-8.0, 10.0), adjustment=st.floats(-LIMIT, LIMIT))
def test_the_sentence_is_the_controllers_decision(ability: float, adjustment: float) -> None:
    _check_against_the_controller(ability, adjustment)


@settings(max_examples=60, deadline=None)
@given(abilities=st.lists(st.floats(-6.0, 8.0), min_size=1, max_size=30))
def test_the_sentence_follows_the_controller_along_a_learning_path(
    abilities: list[float],
) -> None:
    # Adjustments as the fold reaches them: the controller run after each answer.
    adjustment = 0.0
    for ability in abilities:
        adjustment = next_adjustment(ability, adjustment)
        _check_against_the_controller(ability, adjustment)


def test_the_issue_examples() -> None:
    # Issue 14 item 15: 80% on typical content, adjustment -0.31 (left from earlier answers):
    # 84.5% at that adjustment, inside the band, so the controller does nothing.
    inside = explain_difficulty(_logit(0.80), -0.31).text
    assert inside == ("Expected success at adjustment -0.31 logits is 84.5%, inside the "
                      "70%-85% target band (the dead band): no change.")
    # A cold-start learner at 66% with adjustment 0 is below the band: content gets easier.
    cold = explain_difficulty(_logit(0.66), 0.0)
    assert cold.next < 0 and BAND_LOW <= cold.expected_success_next <= BAND_HIGH
    assert "below the 70%-85% target band" in cold.text and "makes content easier" in cold.text
    assert f"to {logits(cold.next)}, for {percent(cold.expected_success_next)}" in cold.text


def test_percentages_outside_the_band_never_read_as_inside() -> None:
    assert percent(0.85004) == "85.1%" and percent(0.69996) == "69.9%"
    assert percent(0.84996) == "85.0%" and percent(0.70004) == "70.0%"
    assert logits(-0.001) == "+0.00 logits"


def _answer(k: int, score: float) -> tuple[int, AssessmentSubmitted]:
    at = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(minutes=k)
    return k, AssessmentSubmitted(
        event_id=uuid.uuid4(), occurred_at=at, session_id="s", learner_id="l",
        payload=AssessmentSubmittedPayload(assessment_id=f"q{k}", skills=["sk"], score=score,
                                           max_score=1, attempt_number=1))


def test_explain_uses_the_controllers_unrounded_inputs_and_top() -> None:
    events = [_answer(k, float(k % 3 != 0)) for k in range(12)]
    params = ModelParams.prior()
    state = LearnerState.new("l")
    for _, event in events:
        state = fold(state, event, params)
    ex = explain("l", events, params, top=3)
    # The view rounds for display; the sentence is built from what the controller sees.
    assert ex.difficulty == explain_difficulty(ability_logit(state.ability, params.ability),
                                               state.difficulty_adjustment)
    assert len(ex.top) == 3
    assert explain("l", events, params, top=0).top == []
    with pytest.raises(ValueError, match="top"):
        explain("l", events, params, top=-1)


def test_a_learner_without_events_is_unknown() -> None:
    with pytest.raises(UnknownLearner, match="no events for learner 'nobody'"):
        explain("nobody", [], ModelParams.prior())


@pytest.mark.parametrize("args", [["x", "--top", "-1"], [""], ["a\x00b"], ["x" * 256]],
                         ids=["negative top", "empty id", "NUL id", "256 characters"])
def test_wrong_calls_are_usage_errors(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Rejected before any database is asked (none answers here).
    monkeypatch.setenv("LEARNSTREAM_DATABASE_URL", "postgresql://x@127.0.0.1:1/x")
    result = CliRunner().invoke(app, ["learner", "explain", *args])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""
