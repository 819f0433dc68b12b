"""Pure folds, no database: every shipped fold projection gives the same states for any
arrival order and any batch split of the same events (the property the incremental path
relies on), and the listening-time rule on a hand-checked example."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from learnstream.contracts import Envelope
from learnstream.log import IDENTIFIED, LogEvent
from projections.fold import FoldProjection, Key, State
from projections.registry import DEFAULT_PROJECTIONS
from projections.sessions import SessionProjection, centis, listened_centis
from tests.examples import BASE_TIME
from tests.projection_histories import random_history

FOLDS = [cls for cls in DEFAULT_PROJECTIONS if issubclass(cls, FoldProjection)]


def as_log_event(event: Envelope, position: int) -> LogEvent:
    """The event as the log hands it back (payload as stored JSON)."""
    return LogEvent(
        event.topic,
        position,
        position,
        event.event_id,
        event.event_type,
        event.schema_version,
        event.occurred_at,
        event.occurred_at,
        event.session_id,
        event.learner_id,
        event.content_id,
        event.payload.model_dump(mode="json", exclude_none=True),
    )


def identities(events: list[LogEvent]) -> dict[str, str]:
    """The final identity map: earliest identification per session."""
    first: dict[str, tuple[Any, Any, str]] = {}
    for e in events:
        if e.event_type == IDENTIFIED and e.learner_id is not None:
            mark = (e.occurred_at, e.event_id, e.learner_id)
            first[e.session_id] = min(first.get(e.session_id, mark), mark)
    return {s: m[2] for s, m in first.items()}


def fold_all(
    projection: FoldProjection, events: list[LogEvent], ids: dict[str, str]
) -> dict[Key, State]:
    """Fold ``events`` one at a time with the pure fold."""
    states: dict[Key, State] = {}
    for e in events:
        if e.event_type not in projection.event_types:
            continue
        if e.event_type == IDENTIFIED and projection.subject is not None:
            continue
        subject = e.learner_id or ids.get(e.session_id, e.session_id)
        for lifted in projection.lift(e, subject):
            key = projection.key_of(lifted)
            # The pure fold of one event into the current state of its key.
            (states[key],) = [
                s
                for s in projection.fold(states.get(key), e, subject)
                if projection.key_of(s) == key
            ]
    return states


@pytest.mark.parametrize("cls", FOLDS, ids=lambda c: c.name)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 100_000), size=st.integers(1, 120), cut=st.floats(0, 1))
def test_fold_is_independent_of_order_and_batching(
    cls: type[FoldProjection], seed: int, size: int, cut: float
) -> None:
    projection = cls()
    events = [as_log_event(e, i) for i, e in enumerate(random_history(seed, size))]
    ids = identities(events)
    in_order = fold_all(projection, events, ids)
    shuffled = events[:]
    random.Random(seed).shuffle(shuffled)
    assert fold_all(projection, shuffled, ids) == in_order
    # Two halves folded separately and merged (what a re-key or a batch split does).
    split = int(cut * len(shuffled))
    left = fold_all(projection, shuffled[:split], ids)
    right = fold_all(projection, shuffled[split:], ids)
    merged = dict(left)
    for key, state in right.items():
        merged[key] = projection.merge(merged[key], state) if key in merged else state
    assert merged == in_order


def test_listening_time_rule_by_hand() -> None:
    at = [BASE_TIME + timedelta(seconds=s) for s in (0, 30, 45, 100, 115, 295)]
    content = ["c"] * 6
    arrive = [centis(x) for x in (0, 30, 45, 45, 60, 300)]
    depart = [centis(x) for x in (0, 30, 45, 45, 120, 300)]
    # 30 + 15 + 0 (paused) + 15 + 180 = 240 s
    assert listened_centis(at, content, arrive, depart, [100] * 6) == 240 * 100
    # A jump without a seek event is capped by the wall clock (10 s at rate 1.0 -> 10 s).
    assert listened_centis(at[:2], ["c", "c"], [0, centis(200)], [0, 0], [100, 100]) == 30 * 100


def test_sessions_derive_orders_contents_by_first_playback() -> None:
    projection = SessionProjection()
    state = projection.empty_lift(
        session_id="s",
        pt_at=[BASE_TIME, BASE_TIME + timedelta(seconds=1), BASE_TIME + timedelta(seconds=2)],
        pt_event=[1, 2, 3],
        pt_content=["b", "a", "b"],
        pt_arrive=[0, 0, 0],
        pt_depart=[0, 0, 0],
        pt_rate=[100, 100, 100],
    )
    state = projection.merge_all([state])
    assert state["content_ids"] == ["b", "a"] and state["current_content_id"] == "b"


def test_a_fold_table_is_generated_from_its_column_definitions() -> None:
    from projections.fold import Col, Rule, table_of
    from projections.likes import LikeEngagementProjection

    table = table_of(
        "t",
        (
            Col("k", "text", Rule.KEY),
            Col("n", "bigint", Rule.SUM, required=True),
            Col("tie", "uuid", Rule.MAX, public=False),
        ),
        ("(n)",),
    )
    assert table.ddl == '"k" TEXT NOT NULL, "n" BIGINT NOT NULL, "tie" UUID, PRIMARY KEY ("k")'
    assert table.public_columns == ("k", "n")
    assert table.indexes == ("(n)",)
    # A concrete fold's table comes from its columns: nothing written twice.
    likes = LikeEngagementProjection.tables[0]
    assert likes.public_columns == tuple(
        c.name for c in LikeEngagementProjection.columns if c.public
    )
    assert all(f'"{c.name}"' in likes.ddl for c in LikeEngagementProjection.columns)


def test_a_primary_key_order_must_name_the_key_columns() -> None:
    from projections.fold import Col, Rule, table_of

    cols = (Col("a", "text", Rule.KEY), Col("b", "text", Rule.KEY))
    assert table_of("t", cols, primary_key=("b", "a")).ddl.endswith('PRIMARY KEY ("b", "a")')
    with pytest.raises(ValueError, match="not the key columns"):
        table_of("t", cols, primary_key=("a", "c"))
