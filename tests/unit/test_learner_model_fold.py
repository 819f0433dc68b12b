"""The batch features equal the online ones; cold start; the fold is a projection (same
events, same state, across serialisation); a small KT slice end to end."""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from learner_model.evaluation.kt import kt_events, read_kt_file
from learner_model.evaluation.protocol import MODEL, evaluate_streams
from learner_model.model.ability import (
    DENSE_FEATURES,
    AbilityParams,
    AbilityState,
    dense_features,
    predict,
)
from learner_model.model.ability import update as update_ability
from learner_model.model.features import feature_frame, outcomes_frame
from learner_model.model.fit import FitConfig, fit_ability
from learner_model.model.observations import Outcome
from learner_model.model.state import (
    LearnerState,
    ModelParams,
    fold,
    params_from_json,
    params_to_json,
    state_from_json,
    state_to_json,
    view,
)
from learnstream.contracts import (
    AssessmentSubmitted,
    AssessmentSubmittedPayload,
    ContentCharacteristics,
    ContentLiked,
    Envelope,
    LikePayload,
    PlaybackCompleted,
    PlaybackPayload,
)
from learnstream.settings import Settings

KT = Settings().learner_model.datasets_dir / "kt" / "statics"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _history(seed: int, n: int = 200) -> list[
        tuple[str, int, str, tuple[str, ...], float, float | None]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        skills = tuple(sorted(rng.sample(["a", "b", "c"], rng.choice([1, 1, 2]))))
        value = rng.choice([0.0, 1.0, 1.0, 0.5, 0.75])
        # Declared difficulty: unknown, the clipped extremes, and ordinary values.
        declared = rng.choice([None, None, 0.0, 1.0, 0.3, 0.5, 0.85])
        rows.append((rng.choice(["l1", "l2", "l3"]), i, rng.choice(["q1", "q2", "q3", "q4"]),
                     skills, value, declared))
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_polars_features_equal_online_features(seed: int) -> None:
    rows = _history(seed)
    params = replace(AbilityParams.prior(), window=4, skill_window=3)
    frame_rows, per_skill = feature_frame(outcomes_frame(rows), window=4, skill_window=3)
    states: dict[str, AbilityState] = {}
    skill_feats = {(r["row"], r["skill"]): r for r in per_skill.iter_rows(named=True)}
    assert frame_rows["declared_missing"].sum() > 0  # both cases are exercised
    assert frame_rows["declared_logit"].abs().sum() > 0
    for (learner, _, item, skills, value, declared), batch in zip(
            rows, frame_rows.iter_rows(named=True), strict=True):
        state = states.get(learner, AbilityState())
        online = dense_features(state, item, skills, 4, 3, declared)
        for name in DENSE_FEATURES:
            assert batch[name] == pytest.approx(online[name], abs=1e-9), name
        for s in skills:
            c, w, _ = state.skills.get(s, (0.0, 0.0, ()))
            got = skill_feats[(batch["row"], s)]
            assert got["skill_correct_log"] == pytest.approx(__import__("math").log1p(c))
            assert got["skill_wrong_log"] == pytest.approx(__import__("math").log1p(w))
        states[learner] = update_ability(state, Outcome(item, skills, value, declared), params)


def _events(n: int, seed: int = 0) -> list[Envelope]:
    rng = random.Random(seed)
    chars = ContentCharacteristics(format="podcast", genre="news", topic="food")
    out: list[Envelope] = []
    for i in range(n):
        at = T0 + timedelta(hours=i)
        kind = rng.random()
        if kind < 0.6:
            out.append(AssessmentSubmitted(
                event_id=uuid.uuid4(), occurred_at=at, session_id="s", learner_id="l",
                payload=AssessmentSubmittedPayload(
                    assessment_id=f"q{rng.randrange(5)}", skills=[rng.choice("ab")],
                    score=rng.choice([0, 1, 1]), max_score=1, attempt_number=1)))
        elif kind < 0.8:
            out.append(PlaybackCompleted(
                event_id=uuid.uuid4(), occurred_at=at, session_id="s", learner_id="l",
                content_id="c", payload=PlaybackPayload(playback_position=100,
                                                        content_characteristics=chars)))
        else:
            out.append(ContentLiked(event_id=uuid.uuid4(), occurred_at=at, session_id="s",
                                    learner_id="l", content_id="c",
                                    payload=LikePayload(content_characteristics=chars)))
    return out


def test_declared_difficulty_is_learned_and_predicts_unseen_items() -> None:
    """Items answered by nobody in training get their difficulty from the declared one."""
    rng = random.Random(5)
    true = {f"q{i}": rng.gauss(0.0, 1.2) for i in range(40)}
    declared = {q: 1 / (1 + math.exp(-(d + rng.gauss(0, 0.3))))
                for q, d in true.items()}
    rows = []
    for i in range(4000):
        q = rng.choice(list(true))
        p = 1 / (1 + math.exp(true[q]))
        rows.append((f"l{rng.randrange(50)}", i, q, ("s",), float(rng.random() < p), declared[q]))
    params = fit_ability(outcomes_frame(rows))
    assert params.dense["declared_logit"] < -0.3  # harder declared, fewer correct answers
    no_items = replace(params, item={})
    easy = predict(AbilityState(), "new", ("s",), no_items, 0.1)
    hard = predict(AbilityState(), "new", ("s",), no_items, 0.9)
    unknown = predict(AbilityState(), "new", ("s",), no_items, None)
    assert easy > unknown > hard
    assert easy - hard > 0.2


def _fitted_params() -> ModelParams:
    rows = _history(7, 300)
    ability = fit_ability(outcomes_frame(rows), FitConfig(theta_prior_var=0.2))
    return ModelParams(ability.version, ability, {"genre:news": -0.2, "format:podcast": 0.3},
                       {"podcast": 0.1})


def test_cold_start_is_the_population_prior() -> None:
    params = _fitted_params()
    v = view(LearnerState.new("nobody"), params)
    assert v.cold_start and v.outcomes == 0 and v.data_points == 0
    assert v.preference_weights == {"format:podcast": 0.3, "genre:news": -0.2}
    assert v.content_type_preferences == {"podcast": 0.1}
    assert v.comprehension_low < v.comprehension_level < v.comprehension_high
    assert v.model_version == params.version


def test_fold_is_a_projection_across_serialisation_and_restart() -> None:
    params = params_from_json(params_to_json(_fitted_params()))
    events = _events(80)
    one_pass = LearnerState.new("l")
    for e in events:
        one_pass = fold(one_pass, e, params)
    resumed = LearnerState.new("l")
    for i, e in enumerate(events):
        if i % 7 == 0:  # stored and reloaded as the projection does between batches
            resumed = state_from_json(state_to_json(resumed))
        resumed = fold(resumed, e, params)
    assert resumed == one_pass
    assert view(resumed, params) == view(one_pass, params)
    assert not view(one_pass, params).cold_start
    assert one_pass.data_points == 80


@pytest.mark.skipif(not KT.exists(), reason="KT datasets not present")
def test_kt_slice_end_to_end_beats_the_global_rate() -> None:
    train = list(kt_events(read_kt_file(KT / "train.tsv", limit_learners=25), "t"))
    test = list(kt_events(read_kt_file(KT / "test.tsv", limit_learners=8), "v"))
    res = evaluate_streams(train, test, FitConfig(theta_prior_var=0.05), resamples=20)
    ours, base = res["overall"][MODEL], res["overall"]["global"]
    assert ours["log_loss"] < base["log_loss"]
    assert ours["auc"] > 0.6
    assert res["model_vs"]["global"]["log_loss_gain"]["mean"] > 0
