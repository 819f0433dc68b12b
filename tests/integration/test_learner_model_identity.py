"""Anonymous history counts for the learner after ``learner.identified``: the learner-model
projection re-keys identified sessions (refolding the learner from the log), and the
incremental path equals a rebuild of the same log whatever the batch split."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from learner_model.model.state import LearnerState, ModelParams, fold, view
from learner_model.projection import IDENTITY_TABLE, STATE_TABLE, LearnerModelProjection
from learnstream.contracts import (
    AssessmentSubmitted,
    AssessmentSubmittedPayload,
    ContentCharacteristics,
    ContentLiked,
    Envelope,
    LearnerIdentified,
    LikePayload,
)
from learnstream.db import connect
from learnstream.log import Checkpoint, frontier
from learnstream.settings import Settings
from projections.projection import Store
from projections.runner import project_until_caught_up
from tests.integration.projection_support import (
    append,
    apply_incrementally,
    scratch_store,
    wait_readable,
)

T0 = datetime(2025, 4, 1, tzinfo=UTC)
PARAMS = ModelParams.prior()


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _answer(minutes: float, session: str, learner: str | None, item: str,
            score: float) -> AssessmentSubmitted:
    return AssessmentSubmitted(
        event_id=uuid.uuid4(), occurred_at=_at(minutes), session_id=session, learner_id=learner,
        payload=AssessmentSubmittedPayload(assessment_id=item, skills=["sk"], score=score,
                                           max_score=1, attempt_number=1))


def _like(minutes: float, session: str, learner: str | None) -> ContentLiked:
    return ContentLiked(
        event_id=uuid.uuid4(), occurred_at=_at(minutes), content_id="c1", session_id=session,
        learner_id=learner,
        payload=LikePayload(content_characteristics=ContentCharacteristics(format="podcast",
                                                                           genre="news")))


def _identified(minutes: float, session: str, learner: str) -> LearnerIdentified:
    return LearnerIdentified(event_id=uuid.uuid4(), occurred_at=_at(minutes),
                             session_id=session, learner_id=learner)


def _expected(events: Sequence[Envelope], learner: str) -> dict[str, Any]:
    """The learner's public row values, folded by hand in the given (log) order."""
    state = LearnerState.new(learner)
    for e in events:
        state = fold(state, e, PARAMS)
    v = view(state, PARAMS)
    return {"data_points": v.data_points, "outcomes": v.outcomes,
            "comprehension_level": v.comprehension_level, "ability_logit": v.ability_logit}


def _tables(conn: psycopg.Connection[Any], store: Store) -> tuple[list[Any], list[Any]]:
    """Both physical tables (internal fold state included) in key order."""
    states = conn.execute(sql.SQL("SELECT * FROM {} ORDER BY learner_id").format(
        store.table(STATE_TABLE))).fetchall()
    identities = conn.execute(sql.SQL("SELECT * FROM {} ORDER BY session_id").format(
        store.table(IDENTITY_TABLE))).fetchall()
    return states, identities


def _rebuilt(conn: psycopg.Connection[Any], tag: str) -> tuple[list[Any], list[Any]]:
    projection = LearnerModelProjection(PARAMS)
    store = scratch_store(projection, tag)
    with conn.transaction():
        projection.create_tables(conn, store)
        upto = frontier(conn, projection.families)
        assert upto is not None
        projection.rebuild(conn, store, upto)
    return _tables(conn, store)


def _incremental(conn: psycopg.Connection[Any], tag: str,
                 sizes: list[int]) -> tuple[list[Any], list[Any]]:
    projection = LearnerModelProjection(PARAMS)
    store = scratch_store(projection, tag)
    with conn.transaction():
        projection.create_tables(conn, store)
    apply_incrementally(conn, projection, store, Checkpoint.START, sizes)
    return _tables(conn, store)


def _live(conn: psycopg.Connection[Any]) -> dict[str, dict[str, Any]]:
    cur = conn.execute("SELECT * FROM read.learner_model_state ORDER BY learner_id")
    names = [d.name for d in cur.description or ()]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def _project(settings: Settings, events: Sequence[Envelope]) -> None:
    append(settings, events, chunk=3)
    wait_readable(settings)
    project_until_caught_up(settings, [LearnerModelProjection(PARAMS)])


def test_identified_session_history_counts_for_the_learner(db_settings: Settings) -> None:
    anonymous: list[Envelope] = [
        _answer(1, "s-anon", None, "q1", 1.0), _answer(2, "s-anon", None, "q2", 0.0),
        _like(3, "s-anon", None), _answer(4, "s-anon", None, "q3", 1.0)]
    other: list[Envelope] = [
        _answer(2.5, "s-other", None, "q1", 0.0), _answer(3.5, "s-other", None, "q2", 1.0)]
    identified = _identified(5, "s-anon", "alice")
    after: list[Envelope] = [
        _answer(6, "s-anon", "alice", "q4", 1.0), _answer(7, "s-anon", None, "q5", 1.0),
        _answer(8, "s-alice-2", "alice", "q1", 0.0)]

    _project(db_settings, anonymous + other)  # first run: the runner's rebuild path
    with connect(db_settings) as conn:
        before = _live(conn)
        assert sorted(before) == ["s-anon", "s-other"]
        assert before["s-anon"]["data_points"] == 4
    _project(db_settings, [identified])  # incremental: the identification re-keys s-anon
    with connect(db_settings) as conn:
        assert sorted(_live(conn)) == ["alice", "s-other"]
    _project(db_settings, after)

    with connect(db_settings) as conn:
        live = _live(conn)
        assert sorted(live) == ["alice", "s-other"]
        alice = _expected(anonymous + after, "alice")
        assert alice["data_points"] == 7 and alice["outcomes"] == 6
        assert {k: live["alice"][k] for k in alice} == alice
        assert {k: live["s-other"][k] for k in alice} == _expected(other, "s-other")
        identities = conn.execute(
            "SELECT session_id, learner_id, event_id FROM read.learner_model_identities"
        ).fetchall()
        assert identities == [("s-anon", "alice", identified.event_id)]
        # The same log rebuilt from scratch gives the same table.
        rebuilt, rebuilt_ids = _rebuilt(conn, "rebuild")
        physical = conn.execute(
            "SELECT * FROM read.learner_model_state ORDER BY learner_id").fetchall()
        assert [r[: len(physical[0])] for r in rebuilt] == physical
        assert [r[0] for r in rebuilt_ids] == ["s-anon"]


@pytest.mark.parametrize("order", ["identification_first", "identification_late"])
def test_arrival_order_and_batch_split_match_a_rebuild(db_settings: Settings,
                                                       order: str) -> None:
    anon = [_answer(1, "s1", None, "q1", 1.0), _answer(2, "s1", None, "q2", 0.0),
            _like(2.5, "s1", None), _answer(3, "s1", None, "q3", 1.0)]
    bob = [_answer(4, "s9", "bob", "q1", 0.0), _answer(5, "s9", "bob", "q2", 1.0)]
    carol = [_answer(4.5, "s8", "carol", "q4", 1.0)]
    lonely = [_answer(1.5, "s-lonely", None, "q1", 1.0)]
    # s1 is first claimed as bob (later occurred_at), then the earlier claim as carol arrives:
    # the earliest identification wins, so s1's history moves from bob to carol.
    as_bob, as_carol = _identified(6, "s1", "bob"), _identified(0.5, "s1", "carol")
    if order == "identification_first":
        log: list[Envelope] = [as_bob, *bob, *anon[:2], as_carol, *lonely, *carol, *anon[2:]]
    else:
        log = [*anon, *lonely, *bob, as_bob, *carol, as_carol]
    append(db_settings, log, chunk=4)
    wait_readable(db_settings)

    with connect(db_settings) as conn:
        rebuilt = _rebuilt(conn, "rebuild")
        for i, sizes in enumerate(([1], [2, 3], [500])):
            assert _incremental(conn, f"inc{i}", sizes) == rebuilt, sizes
    states, identities = rebuilt
    by_key = {r[0]: r for r in states}
    assert sorted(by_key) == ["bob", "carol", "s-lonely"]
    cols = list(LearnerModelProjection.tables[0].public_columns)
    data_points = cols.index("data_points")
    assert by_key["carol"][data_points] == len(anon) + len(carol)
    assert by_key["bob"][data_points] == len(bob)
    assert by_key["s-lonely"][data_points] == 1
    # Concrete values: carol's row is her events folded in log order.
    carol_log = [e for e in log if e in anon or e in carol]
    expected = _expected(carol_log, "carol")
    assert by_key["carol"][cols.index("comprehension_level")] == expected["comprehension_level"]
    assert [(r[0], r[1], r[3]) for r in identities] == [("s1", "carol", as_carol.event_id)]
