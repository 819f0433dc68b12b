"""The simulator: determinism, valid events, delivery imperfections at the configured rates,
identity stitching, and behaviour that actually depends on the hidden parameters."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from scipy.stats import spearmanr

from learnstream.contracts import Envelope, Topic, decode_event, encode_event
from simulator import (
    GroundTruth,
    Simulation,
    SimulationConfig,
    load_truth,
    simulate,
    write_truth,
)

START = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday
DECODE_NOW = START + timedelta(days=60)


def config(**overrides: object) -> SimulationConfig:
    values: dict[str, object] = {"learners": 60, "days": 7, "seed": 11, "start": START}
    values.update(overrides)
    return SimulationConfig.model_validate(values)


@dataclass
class Run:
    events: list[Envelope]
    truth: GroundTruth
    simulation: Simulation


def run(cfg: SimulationConfig) -> Run:
    simulation = Simulation(cfg)
    events = list(simulation.events())
    return Run(events, simulation.truth(), simulation)


@pytest.fixture(scope="module")
def standard() -> Run:
    return run(config())


def distinct(events: list[Envelope]) -> list[Envelope]:
    seen: set[object] = set()
    out = []
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            out.append(event)
    return out


def test_same_seed_same_bytes_and_other_seed_differs() -> None:
    small = config(learners=12, days=3)
    first = b"".join(encode_event(e) for e in simulate(small))
    again = b"".join(encode_event(e) for e in simulate(small))
    other = b"".join(encode_event(e) for e in simulate(small.model_copy(update={"seed": 12})))
    assert first == again
    assert first != other
    assert len(first) > 100_000


def test_every_event_round_trips_through_the_codec(standard: Run) -> None:
    for event in standard.events:
        raw = encode_event(event)
        decoded = decode_event(raw, topic=event.topic, now=DECODE_NOW)
        assert decoded == event
    assert len(standard.events) > 5_000
    # Every event family and every event type is exercised.
    assert {e.topic for e in standard.events} == {
        Topic.BEHAVIOR, Topic.LIKES, Topic.ACTIVITY, Topic.LEARNING, Topic.CATALOG
    }
    assert len({e.event_type for e in standard.events}) == 23


def test_duplicates_are_exact_resends_at_the_configured_rate(standard: Run) -> None:
    by_id: dict[object, list[bytes]] = defaultdict(list)
    for event in standard.events:
        by_id[event.event_id].append(encode_event(event))
    resent = sum(len(copies) - 1 for copies in by_id.values())
    assert all(len(set(copies)) == 1 for copies in by_id.values())
    stats = standard.simulation.stats.delivery
    assert resent == stats.duplicates
    assert stats.originals == len(by_id)
    assert resent / len(by_id) == pytest.approx(0.02, abs=0.006)


def test_reordering_changes_only_the_emitted_order(standard: Run) -> None:
    stats = standard.simulation.stats.delivery
    assert stats.reordered / stats.client_events == pytest.approx(0.03, abs=0.008)
    # An event is observed out of order when something that happened later was emitted first.
    latest = datetime.min.replace(tzinfo=UTC)
    overtaken = 0
    for event in distinct(standard.events):
        if event.occurred_at < latest:
            overtaken += 1
        latest = max(latest, event.occurred_at)
    assert 0.7 * stats.reordered <= overtaken <= stats.reordered + stats.late
    # Same seed without imperfections: the same events, each exactly once, in occurred order.
    clean = run(config(duplicate_rate=0.0, out_of_order_rate=0.0, late_rate=0.0)).events
    assert [e.occurred_at for e in clean] == sorted(e.occurred_at for e in clean)
    assert len({e.event_id for e in clean}) == len(clean)
    assert sorted(encode_event(e) for e in clean) == sorted(
        encode_event(e) for e in distinct(standard.events)
    )


def test_catalog_is_published_before_anything_refers_to_it(standard: Run) -> None:
    published: set[str] = set()
    for event in standard.events:
        if event.event_type == "content.generated":
            assert event.content_id is not None
            published.add(event.content_id)
        elif event.topic in (Topic.BEHAVIOR, Topic.LIKES):
            assert event.content_id in published
    assert published == set(standard.truth.content)
    statuses = Counter(
        e.payload.status for e in distinct(standard.events)  # type: ignore[attr-defined]
        if e.event_type == "generation.status_changed"
    )
    assert statuses["failed"] > 0 and statuses["completed"] == len(published)


def test_assessment_success_follows_ability_minus_difficulty(standard: Run) -> None:
    truth = standard.truth
    gaps, scores = [], []
    for event in distinct(standard.events):
        if event.event_type != "assessment.submitted":
            continue
        payload = event.payload
        assert event.learner_id is not None
        learner = truth.learners[event.learner_id]
        day = (event.occurred_at - START).days
        ability = learner.ability_by_day[day - 1] if day else learner.ability_start
        items = [truth.items[item_id] for item_id in payload.answers]  # type: ignore[attr-defined]
        difficulty = sum(i.difficulty for i in items) / len(items)
        gaps.append(ability - difficulty)
        scores.append(payload.score / payload.max_score)  # type: ignore[attr-defined]
    assert len(scores) > 100
    assert spearmanr(gaps, scores).statistic > 0.25


def test_assessments_declare_a_noisy_difficulty(standard: Run) -> None:
    """Every assessment declares a difficulty: the mean of its items' declared scores, a noisy
    but informative view of their true difficulty."""
    truth = standard.truth
    declared, true = [], []
    for event in distinct(standard.events):
        if event.event_type != "assessment.submitted":
            continue
        payload = event.payload
        items = [truth.items[item_id] for item_id in payload.answers]  # type: ignore[attr-defined]
        mean = round(sum(i.declared_difficulty for i in items) / len(items), 2)
        assert payload.declared_difficulty == pytest.approx(mean)  # type: ignore[attr-defined]
        declared.append(mean)
        true.append(sum(i.difficulty for i in items) / len(items))
    assert len(declared) > 100
    rho = spearmanr(declared, true).statistic
    assert 0.5 < rho < 0.999  # informative, but not the truth


def test_skips_follow_hidden_preferences_and_difficulty(standard: Run) -> None:
    truth = standard.truth
    outcomes: dict[tuple[str, str], str] = {}
    learner_of: dict[str, str] = {}
    for event in distinct(standard.events):
        if event.event_type in ("playback.skipped", "playback.completed"):
            key = (event.session_id, event.content_id or "")
            outcomes.setdefault(key, event.event_type)
            learner_of[event.session_id] = event.learner_id or event.session_id
    utilities, skipped = [], []
    for (session, content_id), outcome in outcomes.items():
        learner = truth.learner(learner_of[session])
        content = truth.content[content_id]
        weights = learner.preferences
        utilities.append(
            weights.format[content.format] + weights.genre[content.genre]
            + weights.topic[content.topic]
        )
        skipped.append(outcome == "playback.skipped")
    assert 0.1 < sum(skipped) / len(skipped) < 0.45
    assert spearmanr(utilities, skipped).statistic < -0.1


def test_anonymous_history_precedes_identification(standard: Run) -> None:
    events = sorted(distinct(standard.events), key=lambda e: e.occurred_at)
    identified = {e.session_id: e for e in events if e.event_type == "learner.identified"}
    assert identified, "some anonymous learners sign in during the run"
    for anon_session, link in identified.items():
        assert link.learner_id is not None
        for event in events:
            if event.session_id == anon_session and event is not link:
                assert event.learner_id is None
                assert event.occurred_at <= link.occurred_at
            elif event.learner_id == link.learner_id and event is not link:
                assert event.occurred_at >= link.occurred_at
                assert event.session_id != anon_session
    anonymous_only = {
        e.session_id for e in events if e.learner_id is None and e.topic is not Topic.CATALOG
    }
    # Anonymous learners neither enrol nor take assessments.
    assert not any(
        e.topic is Topic.LEARNING for e in events if e.session_id in anonymous_only
    )


def test_assessment_attempts_count_up_per_learner(standard: Run) -> None:
    attempts: dict[tuple[str, str], list[int]] = defaultdict(list)
    for event in sorted(distinct(standard.events), key=lambda e: e.occurred_at):
        if event.event_type == "assessment.submitted":
            payload = event.payload
            attempts[(event.learner_id or "", payload.assessment_id)].append(  # type: ignore[attr-defined]
                payload.attempt_number  # type: ignore[attr-defined]
            )
    assert any(len(a) > 1 for a in attempts.values())
    for numbers in attempts.values():
        assert numbers == list(range(1, len(numbers) + 1))


def test_ground_truth_covers_everything_the_events_mention(standard: Run, tmp_path: Path) -> None:
    path = write_truth(standard.truth, tmp_path / "truth.json")
    truth = load_truth(path)
    assert truth == standard.truth
    assert len(truth.learners) == 60
    for event in standard.events:
        if event.topic is Topic.CATALOG and event.event_type != "preferences.updated":
            continue
        truth.learner(event.learner_id or event.session_id)  # KeyError if unknown
        if event.content_id is not None:
            assert event.content_id in truth.content
        if event.event_type == "assessment.submitted":
            assert set(event.payload.answers) <= set(truth.items)  # type: ignore[attr-defined]
    for learner in truth.learners.values():
        assert len(learner.ability_by_day) == 7
        assert learner.ability_end >= learner.ability_start  # practice never unlearns
        assert set(learner.preferences.format) == {"narrative", "podcast", "educational"}


def test_truth_needs_a_finished_run_and_a_run_happens_once() -> None:
    simulation = Simulation(config(learners=3, days=1))
    with pytest.raises(RuntimeError):
        simulation.truth()
    list(simulation.events())
    with pytest.raises(RuntimeError):
        list(simulation.events())


def test_adding_learners_keeps_the_existing_ones() -> None:
    few = Simulation(config(learners=5, days=1)).world.learners
    more = Simulation(config(learners=8, days=1)).world.learners
    assert [(lrn.learner_id, lrn.ability_start) for lrn in few] == [
        (lrn.learner_id, lrn.ability_start) for lrn in more[:5]
    ]


def test_config_rejects_a_start_that_is_not_midnight_utc() -> None:
    with pytest.raises(ValidationError):
        config(start=START + timedelta(hours=3))
    with pytest.raises(ValidationError):
        config(duplicate_rate=0.9)
