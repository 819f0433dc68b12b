"""Warehouse logic without servers: engagement aggregates on hand-computed event histories
(DuckDB and Polars must agree with the hand figures and with each other), activity and
retention, the Rasch fit, and crash recovery of the Parquet tree."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import warehouse
from learnstream.settings import Settings
from warehouse import catalog
from warehouse.columns import EVENTS_SCHEMA
from warehouse.errors import ExportCorrupt
from warehouse.export import Checkpoint, recover
from warehouse.jobs.difficulty import calibrate
from warehouse.jobs.engagement import (
    activity_tables,
    content_engagement_duckdb,
    content_engagement_polars,
    engagement_by_dimension,
    scan_events,
    with_engagement_score,
)
from warehouse.jobs.rasch import fit_rasch, sigmoid
from warehouse.jobs.sql import DAILY_ACTIVITY
from warehouse.layout import WarehouseLayout, write_parquet_durably

T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)  # a Monday


class History:
    """Builds rows of the exported events table by hand."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, event_type: str, *, at: datetime = T0, **fields: Any) -> None:
        family = {
            "playback": "behavioral_events",
            "content.liked": "like_events",
            "content.unliked": "like_events",
            "content.generated": "catalog_events",
            "content.validated": "catalog_events",
            "generation.status_changed": "catalog_events",
            "content.requested": "activity_events",
            "assessment.submitted": "learning_events",
            "learner.identified": "catalog_events",
        }
        key = "playback" if event_type.startswith("playback.") else event_type
        position = len(self.rows) + 1
        row: dict[str, Any] = dict.fromkeys(EVENTS_SCHEMA.names)
        row.update(
            position=position, tx_id=1000 + position, event_id=f"e{position}",
            event_type=event_type, schema_version=1, occurred_at=at, received_at=at,
            event_date=at.date(), session_id="s1", family=family[key], payload="{}",
            context="{}",
        )
        row.update(fields)
        self.rows.append(row)

    def write(self, root: Path) -> WarehouseLayout:
        layout = WarehouseLayout(root)
        table = pa.Table.from_pylist(self.rows, schema=EVENTS_SCHEMA)
        for day in sorted({r["event_date"] for r in self.rows}):
            part = table.filter(pc.equal(table["event_date"], pa.scalar(day)))
            write_parquet_durably(
                layout.part_path(day.isoformat(), (1, 1), (2, 2)), part.drop_columns(["event_date"])
            )
        return layout


def _play(h: History, content: str, session: str, learner: str | None, *events: tuple[str, float],
          duration: float = 300.0, fmt: str = "podcast", genre: str = "news") -> None:
    for i, (event_type, position) in enumerate(events):
        h.add(
            event_type, at=T0 + timedelta(seconds=i), content_id=content, session_id=session,
            learner_id=learner, playback_position=position, duration=duration,
            format=fmt, genre=genre, topic="travel", difficulty="lexical-heavy",
        )


@pytest.fixture
def hand_history(tmp_path: Path) -> WarehouseLayout:
    h = History()
    # c1: two plays. Play 1 (learner a) reaches the end; play 2 (learner b) skips at 60 s.
    _play(h, "c1", "s1", "a", ("playback.started", 0), ("playback.heartbeat", 150),
          ("playback.completed", 300))
    _play(h, "c1", "s2", "b", ("playback.started", 0), ("playback.skipped", 60))
    # c2: one anonymous play, replayed, reaching 50 % with an explicit percent.
    h.add("playback.started", content_id="c2", session_id="s3", playback_position=0,
          playback_percent=0, duration=100, format="narrative", genre="mystery")
    h.add("playback.replayed", content_id="c2", session_id="s3", playback_position=10,
          playback_percent=50, duration=100, format="narrative", genre="mystery")
    # Likes on c1: a likes then unlikes (net: not liking); b likes.
    h.add("content.liked", at=T0, content_id="c1", session_id="s1", learner_id="a")
    h.add("content.unliked", at=T0 + timedelta(minutes=1), content_id="c1", session_id="s1",
          learner_id="a")
    h.add("content.liked", content_id="c1", session_id="s2", learner_id="b")
    # c3: generated (declares its format) but never played.
    h.add("content.generated", content_id="c3", session_id="gen", format="educational",
          genre="grammar", topic="verbs", difficulty="discourse-heavy")
    return h.write(tmp_path)


def _both_engines(layout: WarehouseLayout, tmp_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    con = catalog.open(Settings(warehouse={"dir": layout.root}))
    try:
        duck = content_engagement_duckdb(con)
    finally:
        con.close()
    return duck, content_engagement_polars(scan_events(layout.events))


def test_content_engagement_matches_hand_computed_figures(
    hand_history: WarehouseLayout, tmp_path: Path
) -> None:
    duck, polars = _both_engines(hand_history, tmp_path)
    for result in (duck, polars):
        by_id = {r["content_id"]: r for r in result.iter_rows(named=True)}
        assert sorted(by_id) == ["c1", "c2", "c3"]
        c1, c2, c3 = by_id["c1"], by_id["c2"], by_id["c3"]
        assert (c1["starts"], c1["completions"], c1["skips"], c1["plays"]) == (2, 1, 1, 2)
        assert c1["completion_rate"] == pytest.approx(0.5)
        assert c1["skip_rate"] == pytest.approx(0.5)
        # Listen-through: play 1 reached 300/300 = 100 %, play 2 60/300 = 20 %.
        assert c1["avg_listen_through_pct"] == pytest.approx(60.0)
        assert c1["time_spent_seconds"] == pytest.approx(360.0)
        # a's latest toggle is an unlike, b likes: one liker of two listeners.
        assert (c1["likers"], c1["listeners"]) == (1, 2)
        assert c1["like_rate"] == pytest.approx(0.5)
        assert c1["format"] == "podcast"
        assert c2["replay_rate"] == pytest.approx(1.0)
        assert c2["avg_listen_through_pct"] == pytest.approx(50.0)
        assert c2["listeners"] == 1  # the anonymous session counts as one listener
        assert c3["starts"] == 0 and c3["completion_rate"] is None
        assert (c3["format"], c3["genre"]) == ("educational", "grammar")
    assert duck.equals(polars)


def test_engines_agree_on_a_random_history(tmp_path: Path) -> None:
    rng = random.Random(11)
    h = History()
    kinds = ["playback.started", "playback.heartbeat", "playback.completed",
             "playback.skipped", "playback.replayed", "content.liked", "content.unliked"]
    for i in range(3000):
        kind = rng.choice(kinds)
        content, session = f"c{rng.randrange(30)}", f"s{rng.randrange(200)}"
        learner = None if rng.random() < 0.2 else f"l{rng.randrange(80)}"
        fields: dict[str, Any] = {
            "content_id": content, "session_id": session, "learner_id": learner,
            "format": rng.choice(["podcast", "narrative"]), "genre": rng.choice(["a", "b", "c"]),
        }
        if kind.startswith("playback."):
            duration = rng.choice([None, 120.0, 300.0])
            fields.update(playback_position=rng.uniform(0, 400), duration=duration,
                          playback_percent=None if rng.random() < 0.7 else rng.uniform(0, 100))
        h.add(kind, at=T0 + timedelta(seconds=rng.randrange(10**6)), **fields)
        assert i + 1 == len(h.rows)
    for _ in range(150):  # identifications, some at the same instant (event_id breaks ties)
        h.add("learner.identified", at=T0 + timedelta(seconds=rng.randrange(3) * 1000),
              session_id=f"s{rng.randrange(200)}", learner_id=f"l{rng.randrange(80)}")
    duck, polars = _both_engines(h.write(tmp_path), tmp_path)
    assert duck.height == 30
    assert duck.equals(polars) or _close(duck, polars)


def test_a_replay_that_completes_without_a_start_keeps_the_rate_a_rate(
    tmp_path: Path,
) -> None:
    h = History()
    _play(h, "c1", "s1", "a", ("playback.started", 0), ("playback.completed", 300),
          ("playback.replayed", 0), ("playback.completed", 300))
    for result in _both_engines(h.write(tmp_path), tmp_path):
        row = result.row(0, named=True)
        assert (row["starts"], row["completions"], row["replays"]) == (1, 2, 1)
        assert row["completed_starts"] == 1
        assert row["completion_rate"] == pytest.approx(1.0)


_PLAYBACK = ["playback.started", "playback.completed", "playback.skipped", "playback.replayed",
             "playback.heartbeat"]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plays=st.lists(
    st.tuples(st.sampled_from(["c1", "c2"]), st.sampled_from(["s1", "s2", "s3"]),
              st.lists(st.sampled_from(_PLAYBACK), min_size=1, max_size=8)),
    min_size=1, max_size=6,
))
def test_rates_are_bounded_and_engines_agree(
    tmp_path_factory: pytest.TempPathFactory, plays: list[tuple[str, str, list[str]]]
) -> None:
    h = History()
    for content, session, events in plays:
        _play(h, content, session, None, *((e, 10.0) for e in events))
    root = tmp_path_factory.mktemp("rates")
    duck, polars = _both_engines(h.write(root), root)
    assert duck.equals(polars) or _close(duck, polars)
    for row in duck.iter_rows(named=True):
        for rate in ("completion_rate", "skip_rate"):
            if row["starts"] == 0:
                assert row[rate] is None
            else:
                assert 0.0 <= row[rate] <= 1.0
        assert row["completed_starts"] <= min(row["starts"], row["completions"])
        assert row["skipped_starts"] <= min(row["starts"], row["skips"])
    dims = engagement_by_dimension(with_engagement_score(duck))
    rates = [*dims["completion_rate"].drop_nulls(), *dims["skip_rate"].drop_nulls()]
    assert all(0.0 <= r <= 1.0 for r in rates)


def test_listeners_and_likers_are_stitched_to_identified_learners(tmp_path: Path) -> None:
    """One person, anonymous on one device and signed in on another, listens to c1 and likes
    it anonymously, then unlikes it signed in: one listener, no liker (the identity rule)."""
    h = History()
    _play(h, "c1", "anon-device", None, ("playback.started", 0), ("playback.completed", 300))
    h.add("content.liked", at=T0 + timedelta(minutes=1), content_id="c1",
          session_id="anon-device")
    h.add("learner.identified", at=T0 + timedelta(minutes=2), session_id="anon-device",
          learner_id="a")
    _play(h, "c1", "laptop", "a", ("playback.started", 0), ("playback.skipped", 60))
    h.add("content.unliked", at=T0 + timedelta(minutes=5), content_id="c1",
          session_id="laptop", learner_id="a")
    # A later identification of the same device as someone else changes nothing.
    h.add("learner.identified", at=T0 + timedelta(minutes=9), session_id="anon-device",
          learner_id="b")
    for result in _both_engines(h.write(tmp_path), tmp_path):
        row = result.row(0, named=True)
        assert (row["content_id"], row["plays"], row["listeners"]) == ("c1", 2, 1)
        assert row["likers"] == 0


def test_assessment_outcomes_follow_the_identity_rule(tmp_path: Path) -> None:
    from warehouse.jobs.runner import _difficulty_inputs_polars
    from warehouse.jobs.sql import OUTCOMES

    h = History()
    h.add("assessment.submitted", session_id="tablet", assessment_id="q1", score=1.0,
          max_score=1.0)
    h.add("learner.identified", at=T0 + timedelta(minutes=1), session_id="tablet",
          learner_id="a")
    h.add("assessment.submitted", session_id="other", assessment_id="q1", score=0.0,
          max_score=1.0)
    layout = h.write(tmp_path)
    con = catalog.open(Settings(warehouse={"dir": layout.root}))
    try:
        duck = con.sql(OUTCOMES).pl()
    finally:
        con.close()
    assert duck["learner_id"].to_list() == ["a", "other"]
    assert duck.equals(_difficulty_inputs_polars(layout)[0])


def test_difficulty_job_reads_the_difficulty_assessments_declare(tmp_path: Path) -> None:
    from warehouse.jobs.runner import _difficulty_inputs_polars
    from warehouse.jobs.sql import DECLARED_DIFFICULTY, OUTCOMES

    h = History()
    for i in range(6):
        for item, declared in (("q1", 0.2), ("q2", 0.9)):
            h.add("assessment.submitted", at=T0 + timedelta(minutes=i), learner_id=f"l{i}",
                  assessment_id=item, score=float((i + (item == "q1")) % 2), max_score=1.0,
                  payload=f'{{"declared_difficulty": {declared}, "attempt_number": 1}}')
    # A generated content's own declaration wins over what its assessments say.
    h.add("content.generated", content_id="c1", difficulty="lexical-heavy",
          difficulty_score=0.3)
    h.add("assessment.submitted", learner_id="l0", content_id="c1", assessment_id="q3",
          score=1.0, max_score=1.0, payload='{"declared_difficulty": 0.7}')
    layout = h.write(tmp_path)
    con = catalog.open(Settings(warehouse={"dir": layout.root}))
    try:
        outcomes, duck = con.sql(OUTCOMES).pl(), con.sql(DECLARED_DIFFICULTY).pl()
    finally:
        con.close()
    polars = _difficulty_inputs_polars(layout)[1]
    assert duck.sort("content_id").equals(polars.sort("content_id"))
    scores = dict(zip(duck["content_id"], duck["declared_difficulty_score"], strict=True))
    assert scores == {"q1": pytest.approx(0.2), "q2": pytest.approx(0.9), "c1": 0.3}
    content, _ = calibrate(outcomes, duck)
    mismatch = {r["content_id"]: r["difficulty_mismatch"] for r in content.iter_rows(named=True)}
    assert mismatch["q1"] is not None and mismatch["q2"] is not None


def _close(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    from polars.testing import assert_frame_equal

    assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9)
    return True


def test_score_and_dimensions_reaggregate_counts(hand_history: WarehouseLayout) -> None:
    con = catalog.open(Settings(warehouse={"dir": hand_history.root}))
    try:
        content = with_engagement_score(content_engagement_duckdb(con))
    finally:
        con.close()
    assert content["engagement_score"].is_between(0, 1).all()
    dims = engagement_by_dimension(content)
    podcast = dims.filter((pl.col("dimension") == "format") & (pl.col("value") == "podcast"))
    assert podcast.row(0, named=True)["starts"] == 2
    assert podcast.row(0, named=True)["completion_rate"] == pytest.approx(0.5)
    formats = dims.filter(pl.col("dimension") == "format")["value"].to_list()
    assert formats == ["educational", "narrative", "podcast"]


def test_daily_activity_and_retention_by_hand(tmp_path: Path) -> None:
    h = History()
    # Learner a: days 0 and 8 (week 0 and week 1). Learner b: day 0 only. Learner c: day 8.
    for learner, day in (("a", 0), ("b", 0), ("a", 8), ("c", 8)):
        h.add("playback.started", at=T0 + timedelta(days=day), learner_id=learner,
              session_id=f"{learner}{day}", content_id="c1", playback_position=0)
    # A catalog event is the system's, not a learner's: it must not count as activity.
    h.add("content.generated", at=T0 + timedelta(days=3), session_id="gen", content_id="c1")
    layout = h.write(tmp_path)
    con = catalog.open(Settings(warehouse={"dir": layout.root}))
    try:
        content = with_engagement_score(content_engagement_duckdb(con))
        tables = activity_tables(con, content)
    finally:
        con.close()
    daily = {r["day"]: r for r in tables["daily_activity"].iter_rows(named=True)}
    start = T0.date()
    assert len(daily) == 9
    assert (daily[start]["dau"], daily[start]["wau"], daily[start]["mau"]) == (2, 2, 2)
    assert daily[start + timedelta(days=3)]["dau"] == 0
    day8 = daily[start + timedelta(days=8)]
    assert (day8["dau"], day8["wau"], day8["mau"]) == (2, 2, 3)
    retention = {
        (r["cohort_week"], r["week_offset"]): r for r in
        tables["retention_cohorts"].iter_rows(named=True)
    }
    week0, week1 = date(2025, 3, 3), date(2025, 3, 10)
    assert retention[(week0, 0)]["cohort_size"] == 2
    assert retention[(week0, 1)]["retention"] == pytest.approx(0.5)
    assert retention[(week1, 0)]["cohort_size"] == 1
    funnel = {r["stage"]: r["count"] for r in tables["generation_funnel"].iter_rows(named=True)}
    assert funnel["generated"] == 1 and funnel["validated"] == 0


def test_funnel_starts_from_generation_jobs_and_only_narrows(tmp_path: Path) -> None:
    h = History()
    # Five learners ask for practice material (content.requested): not generation jobs.
    for i in range(5):
        h.add("content.requested", session_id=f"s{i}", learner_id=f"l{i}")
    # Jobs g1 (generates c1) and g2 (fails); c2 is generated with no job id (its own job).
    for status in ("queued", "generating", "completed"):
        h.add("generation.status_changed", session_id="gen", generation_id="g1", status=status)
    h.add("generation.status_changed", session_id="gen", generation_id="g2", status="failed")
    h.add("content.generated", session_id="gen", content_id="c1", generation_id="g1")
    h.add("content.generated", session_id="gen", content_id="c2")
    h.add("content.validated", session_id="gen", content_id="c1", passed=True)
    con = catalog.open(Settings(warehouse={"dir": h.write(tmp_path).root}))
    try:
        content = with_engagement_score(content_engagement_duckdb(con))
        funnel = activity_tables(con, content)["generation_funnel"].sort("ordinal")
    finally:
        con.close()
    assert funnel["stage"].to_list() == ["requested", "generated", "validated", "consumed",
                                         "liked"]
    assert funnel["count"].to_list() == [3, 2, 1, 0, 0]
    assert funnel["conversion"][0] is None
    assert funnel["conversion"][1] == pytest.approx(2 / 3)
    assert all(0.0 <= c <= 1.0 for c in funnel["conversion"].drop_nulls())


def test_report_cells_show_undefined_as_a_dash() -> None:
    from warehouse.report import _cell

    assert _cell(None) == "&ndash;"
    assert _cell("<b>") == "&lt;b&gt;"
    assert _cell(0.5) == "0.5"


def test_partial_windows_are_flagged(tmp_path: Path) -> None:
    h = History()
    wednesday = T0 + timedelta(days=2)  # the data starts mid-week ...
    for day, learner in ((0, "a"), (0, "b"), (7, "a"), (12, "c"), (40, "a")):
        h.add("playback.heartbeat", at=wednesday + timedelta(days=day), learner_id=learner,
              content_id="c1", playback_position=1.0)
    # ... and ends on a Friday (day 40 from a Wednesday).
    con = catalog.open(Settings(warehouse={"dir": h.write(tmp_path).root}))
    try:
        tables = activity_tables(con, with_engagement_score(content_engagement_duckdb(con)))
    finally:
        con.close()
    first = wednesday.date()
    daily = {r["day"]: r for r in tables["daily_activity"].iter_rows(named=True)}
    assert [d for d, r in daily.items() if r["wau_partial"]] == [
        first + timedelta(days=i) for i in range(6)
    ]
    assert [d for d, r in daily.items() if r["mau_partial"]] == [
        first + timedelta(days=i) for i in range(29)
    ]
    cells = {
        (r["cohort_week"], r["week_offset"]): r["partial"]
        for r in tables["retention_cohorts"].iter_rows(named=True)
    }
    week0, week1 = date(2025, 3, 3), date(2025, 3, 17)
    last_week = date(2025, 4, 14)  # holds day 40 (Friday 2025-04-18)
    assert cells[(week0, 0)] and cells[(week0, 1)]  # the cohort week began before the data
    assert cells[(week1, 0)] is False  # c's cohort week and activity week are whole
    assert cells[(week0, (last_week - week0).days // 7)]  # the last week is cut off


def test_session_lengths_split_a_client_session_at_30_minutes_of_silence(
    tmp_path: Path,
) -> None:
    from warehouse.jobs.sql import session_lengths_sql

    h = History()
    for minutes in (0, 10, 40, 190, 195):  # gaps 10, 30 (not over), 150, 5 minutes
        h.add("playback.heartbeat", at=T0 + timedelta(minutes=minutes), session_id="device",
              content_id="c1", playback_position=1.0)
    h.add("content.generated", at=T0 + timedelta(minutes=100), session_id="device",
          content_id="c1")  # the system's, not the learner's: no activity
    con = catalog.open(Settings(warehouse={"dir": h.write(tmp_path).root}))
    try:
        lengths = con.sql(session_lengths_sql()).pl()
        fallback = con.sql("SELECT session_id, events FROM sessions ORDER BY 1").pl()
    finally:
        con.close()
    assert lengths["session_id"].to_list() == ["device:1", "device:2"]
    assert lengths["client_session_id"].to_list() == ["device", "device"]
    assert lengths["length_seconds"].to_list() == [2400, 300]
    assert lengths["events"].to_list() == [3, 2]
    # The catalog's fallback `sessions` (before read models are exported) splits the same way.
    assert fallback["session_id"].to_list() == ["device:1", "device:2"]
    assert fallback["events"].to_list() == [3, 2]


def test_the_session_gap_setting_splits_the_warehouse_sessions(tmp_path: Path) -> None:
    from warehouse.jobs.sql import session_lengths_sql

    h = History()
    for minutes in (0, 10, 40, 190, 195):  # gaps 10, 30, 150, 5: over 5 minutes thrice
        h.add("playback.heartbeat", at=T0 + timedelta(minutes=minutes), session_id="device",
              content_id="c1", playback_position=1.0)
    settings = Settings(session_gap_minutes=5, warehouse={"dir": h.write(tmp_path).root})
    con = catalog.open(settings)
    try:
        lengths = con.sql(session_lengths_sql(settings.session_gap)).pl()
        fallback = con.sql("SELECT session_id, events FROM sessions ORDER BY 1").pl()
    finally:
        con.close()
    assert lengths["events"].to_list() == [1, 1, 1, 2]
    assert fallback["session_id"].to_list() == ["device:1", "device:2", "device:3", "device:4"]
    assert fallback["events"].to_list() == [1, 1, 1, 2]


def test_rasch_recovers_simulated_difficulties() -> None:
    rng = np.random.default_rng(5)
    theta, b = rng.normal(0, 1, 300), rng.normal(0, 1, 25)
    learner = np.repeat(np.arange(300), 25)
    item = np.tile(np.arange(25), 300)
    y = (rng.random(learner.size) < sigmoid(theta[learner] - b[item])).astype(np.float64)
    fit = fit_rasch(learner, item, y, n_learners=300, n_items=25)
    assert np.corrcoef(fit.difficulty, b)[0, 1] > 0.95
    assert np.corrcoef(fit.ability, theta)[0, 1] > 0.85
    fixed = fit_rasch(learner, item, y, n_learners=300, n_items=25, fixed_ability=theta)
    assert np.abs(fixed.difficulty - b).mean() < 0.25
    assert np.array_equal(fixed.ability, theta)


def test_calibrate_orders_items_and_reports_mismatch() -> None:
    outcomes = pl.DataFrame({
        "learner_id": ["a", "b", "c", "d"] * 2,
        "item_id": ["easy"] * 4 + ["hard"] * 4,
        "outcome": [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    })
    declared = pl.DataFrame({
        "content_id": ["easy"], "declared_difficulty": ["lexical-heavy"],
        "declared_difficulty_score": [0.9],
    })
    content, learners = calibrate(outcomes, declared)
    rows = {r["content_id"]: r for r in content.iter_rows(named=True)}
    assert rows["easy"]["calibrated_difficulty"] < rows["hard"]["calibrated_difficulty"]
    assert rows["easy"]["difficulty_mismatch"] < 0  # declared hard, observed easy
    assert rows["hard"]["difficulty_mismatch"] is None
    assert set(content["ability_source"]) == {"rasch"}
    _, fixed_learners = calibrate(outcomes, declared, {"a": 1.0, "b": 0.5})
    assert set(fixed_learners["ability_source"]) == {"learner_model"}
    assert fixed_learners.filter(pl.col("learner_id") == "a")["ability"][0] == 1.0
    # Learners the model does not know get the mean known ability.
    assert fixed_learners.filter(pl.col("learner_id") == "c")["ability"][0] == 0.75
    assert learners["target_difficulty_score"].is_between(0, 1).all()


def test_recovery_removes_files_past_the_checkpoint(tmp_path: Path) -> None:
    layout = WarehouseLayout(tmp_path)
    table = pa.table({"x": [1]})
    kept = layout.part_path("2025-03-01", (5, 1), (5, 9))
    orphan = layout.part_path("2025-03-02", (6, 10), (7, 20))
    for path in (kept, orphan):
        write_parquet_durably(path, table)
    stray_tmp = kept.with_name(".part-x.parquet.tmp")
    stray_tmp.write_bytes(b"half")
    assert recover(layout, Checkpoint(5, 9)) == 2
    assert layout.part_files() == [kept]
    write_parquet_durably(layout.part_path("2025-03-01", (5, 5), (8, 1)), table)
    with pytest.raises(ExportCorrupt):
        recover(layout, Checkpoint(5, 9))


def test_empty_warehouse_still_has_typed_views(tmp_path: Path) -> None:
    con = warehouse.open(Settings(warehouse={"dir": tmp_path}))
    try:
        assert con.sql("SELECT count(*) FROM events").fetchall() == [(0,)]
        tables = con.sql("SELECT table_name FROM information_schema.tables").fetchall()
        names = {r[0] for r in tables}
    finally:
        con.close()
    assert {"events", "sessions", "content", "progress", "learners"} <= names


def test_public_api() -> None:
    assert sorted(warehouse.__all__) == sorted([
        "JOBS", "Checkpoint", "ExportCorrupt", "ExportResult", "FileErasure", "JobResult",
        "Manifest", "TransportUnavailable", "UnknownJob", "WarehouseEmpty", "WarehouseError",
        "apply_retention_to_warehouse", "erase_from_warehouse", "export_log",
        "export_readmodels", "open", "run_job",
    ])
    assert warehouse.JOBS == ("engagement", "difficulty")


def test_difficulty_inputs_agree_between_engines(tmp_path: Path) -> None:
    from warehouse.jobs.runner import _difficulty_inputs_polars
    from warehouse.jobs.sql import DECLARED_DIFFICULTY, OUTCOMES

    h = History()
    for i, (learner, item, score) in enumerate(
        [("a", "q1", 3.0), ("b", "q1", 10.0), (None, "q2", 0.0), ("a", "q2", 5.0)]
    ):
        h.add("assessment.submitted", at=T0 + timedelta(minutes=i), learner_id=learner,
              session_id=f"s{i}", assessment_id=item, score=score, max_score=10.0)
    h.add("content.generated", content_id="c1", difficulty="lexical-heavy",
          difficulty_score=0.3)
    layout = h.write(tmp_path)
    con = catalog.open(Settings(warehouse={"dir": layout.root}))
    try:
        duck = (con.sql(OUTCOMES).pl(), con.sql(DECLARED_DIFFICULTY).pl())
    finally:
        con.close()
    polars = _difficulty_inputs_polars(layout)
    assert duck[0].equals(polars[0])
    assert duck[0]["outcome"].to_list() == [0.3, 1.0, 0.0, 0.5]
    assert duck[0]["learner_id"].to_list() == ["a", "b", "s2", "a"]
    assert duck[1].sort("content_id").equals(polars[1].sort("content_id"))


def test_daily_activity_matches_brute_force_windows(tmp_path: Path) -> None:
    rng = random.Random(3)
    h = History()
    active: set[tuple[date, str]] = set()
    for _ in range(400):
        learner, day = f"l{rng.randrange(25)}", rng.randrange(60)
        at = T0 + timedelta(days=day, minutes=rng.randrange(600))
        h.add("playback.heartbeat", at=at, learner_id=learner, content_id="c1",
              playback_position=1.0)
        active.add((at.date(), learner))
    con = catalog.open(Settings(warehouse={"dir": h.write(tmp_path).root}))
    try:
        daily = con.sql(DAILY_ACTIVITY).pl()
    finally:
        con.close()
    for row in daily.iter_rows(named=True):
        d = row["day"]
        def window(days: int, d: date = d) -> int:
            return len({a for day, a in active if d - timedelta(days=days - 1) <= day <= d})
        assert (row["dau"], row["wau"], row["mau"]) == (window(1), window(7), window(30))
    assert daily.height == (max(d for d, _ in active) - min(d for d, _ in active)).days + 1
