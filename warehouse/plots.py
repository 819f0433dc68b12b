"""The warehouse's key plots, shared by the notebooks and ``learnstream report``.

Each function takes a DuckDB connection from ``warehouse.open()`` and returns a matplotlib
``Figure`` built without pyplot (no global state, renders with Agg anywhere). A plot whose
data is missing says so in its title instead of failing, so a report always completes.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import duckdb
import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle


def has_relation(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Does the warehouse have a table or view called ``name``?"""
    rows = con.sql(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = $name",
        params={"name": name},
    ).fetchall()
    return bool(rows[0][0])


def frame(con: duckdb.DuckDBPyConnection, query: str) -> pl.DataFrame:
    """Run ``query`` and return a Polars frame."""
    result: pl.DataFrame = con.sql(query).pl()
    return result


def _figure(width: float = 10.0, height: float = 4.5) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _missing(title: str, why: str) -> Figure:
    fig = _figure(8, 3)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center", wrap=True)
    return fig


def engagement_by_format_and_genre(con: duckdb.DuckDBPyConnection) -> Figure:
    """Completion rate and listen-through per format and per genre."""
    title = "Engagement by format and genre"
    if not has_relation(con, "engagement_by_dimension"):
        return _missing(title, "run `learnstream jobs run engagement` first")
    data = frame(
        con,
        "SELECT dimension, value, completion_rate, avg_listen_through_pct, starts "
        "FROM engagement_by_dimension WHERE dimension IN ('format', 'genre') "
        "ORDER BY dimension, value",
    )
    fig = _figure(11, 4.5)
    for i, dim in enumerate(("format", "genre")):
        ax = fig.add_subplot(1, 2, i + 1)
        part = data.filter(pl.col("dimension") == dim)
        x = np.arange(part.height)
        ax.bar(x - 0.2, part["completion_rate"].fill_null(0).to_numpy(), 0.4,
               label="completion rate")
        ax.bar(x + 0.2, (part["avg_listen_through_pct"].fill_null(0) / 100).to_numpy(), 0.4,
               label="avg listen-through")
        ax.set_xticks(x, part["value"].to_list(), rotation=30, ha="right")
        ax.set_ylim(0, 1)
        ax.set_title(f"by {dim}")
        ax.legend(loc="lower right", fontsize="small")
    fig.suptitle(title)
    return fig


def retention_heatmap(con: duckdb.DuckDBPyConnection) -> Figure:
    """Weekly retention cohorts: share of each first-week cohort active N weeks later."""
    title = "Weekly retention cohorts"
    if not has_relation(con, "retention_cohorts"):
        return _missing(title, "run `learnstream jobs run engagement` first")
    data = frame(con, "SELECT * FROM retention_cohorts ORDER BY cohort_week, week_offset")
    if data.height == 0:
        return _missing(title, "no activity exported yet")
    cohorts = data["cohort_week"].unique().sort().to_list()
    width = int(data["week_offset"].max()) + 1  # type: ignore[arg-type]
    grid = np.full((len(cohorts), width), np.nan)
    row_of = {c: i for i, c in enumerate(cohorts)}
    for cohort, offset, retention in data.select(
        "cohort_week", "week_offset", "retention"
    ).iter_rows():
        grid[row_of[cohort], offset] = retention
    fig = _figure(8, 1.5 + 0.4 * len(cohorts))
    ax = fig.add_subplot()
    image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    if "partial" in data.columns:
        # Cells over a week the data covers only in part are not comparable: hatch them.
        for cohort, offset in data.filter(pl.col("partial")).select(
            "cohort_week", "week_offset"
        ).iter_rows():
            ax.add_patch(Rectangle((offset - 0.5, row_of[cohort] - 0.5), 1, 1, fill=False,
                                   hatch="//", edgecolor="white", linewidth=0))
        title += " (hatched: partial week)"
    ax.set_yticks(range(len(cohorts)), [str(c) for c in cohorts])
    ax.set_xticks(range(width))
    ax.set_xlabel("weeks since first activity")
    ax.set_ylabel("cohort (week of first activity)")
    fig.colorbar(image, ax=ax, label="retention")
    ax.set_title(title)
    return fig


def active_learners(con: duckdb.DuckDBPyConnection) -> Figure:
    """DAU, WAU and MAU over time."""
    title = "Active learners"
    if not has_relation(con, "daily_activity"):
        return _missing(title, "run `learnstream jobs run engagement` first")
    data = frame(con, "SELECT * FROM daily_activity ORDER BY day")
    fig = _figure(9, 4)
    ax = fig.add_subplot()
    for column in ("dau", "wau", "mau"):
        ax.plot(data["day"].to_list(), data[column].to_list(), label=column.upper())
    if "mau_partial" in data.columns and data["mau_partial"].any():
        partial_days = data.filter(pl.col("mau_partial"))["day"].to_list()
        ax.axvspan(partial_days[0], partial_days[-1], color="grey", alpha=0.15,
                   label="MAU window partial")
    ax.set_title(title)
    ax.legend()
    fig.autofmt_xdate()
    return fig


def session_lengths(con: duckdb.DuckDBPyConnection) -> Figure:
    """Distribution of session lengths (minutes, log-spaced bins)."""
    title = "Session length distribution"
    if not has_relation(con, "session_lengths"):
        return _missing(title, "run `learnstream jobs run engagement` first")
    minutes = frame(con, "SELECT length_seconds / 60.0 AS m FROM session_lengths")["m"]
    fig = _figure(8, 4)
    ax = fig.add_subplot()
    values = np.clip(minutes.to_numpy(), 0.1, None)
    ax.hist(values, bins=list(np.logspace(-1, 3, 30)))
    ax.set_xscale("log")
    ax.set_xlabel("minutes")
    ax.set_ylabel("sessions")
    ax.set_title(title)
    return fig


def generation_funnel(con: duckdb.DuckDBPyConnection) -> Figure:
    """requested -> generated -> validated -> consumed -> liked."""
    title = "Generation funnel"
    if not has_relation(con, "generation_funnel"):
        return _missing(title, "run `learnstream jobs run engagement` first")
    data = frame(con, "SELECT stage, count FROM generation_funnel ORDER BY ordinal")
    fig = _figure(8, 4)
    ax = fig.add_subplot()
    ax.barh(data["stage"].to_list()[::-1], data["count"].to_list()[::-1])
    ax.set_title(title)
    return fig


def difficulty_calibration(con: duckdb.DuckDBPyConnection) -> Figure:
    """Calibrated item difficulty against the simulator's true difficulty when the truth is
    imported; against the declared difficulty score otherwise."""
    title = "Difficulty calibration"
    if not has_relation(con, "content_difficulty"):
        return _missing(title, "run `learnstream jobs run difficulty` first")
    fig = _figure(11, 4.5)
    if has_relation(con, "truth_items"):
        data = frame(
            con,
            "SELECT d.content_id, d.calibrated_difficulty, avg(t.difficulty) AS true_difficulty, "
            "d.outcomes FROM content_difficulty d JOIN truth_items t "
            "ON t.assessment_id = d.content_id OR t.item_id = d.content_id "
            "GROUP BY ALL",
        )
        ax = fig.add_subplot(1, 2, 1)
        ax.scatter(data["true_difficulty"], data["calibrated_difficulty"], s=12, alpha=0.7)
        if data.height > 1:
            r = float(np.corrcoef(data["true_difficulty"], data["calibrated_difficulty"])[0, 1])
            ax.set_title(f"calibrated vs true (r = {r:.2f}, n = {data.height})")
        ax.set_xlabel("true difficulty (logit)")
        ax.set_ylabel("calibrated difficulty (logit)")
    else:
        ax = fig.add_subplot(1, 2, 1)
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no simulator truth imported\n(`learnstream export --truth FILE`)",
                ha="center", va="center")
    declared = frame(
        con,
        "SELECT declared_difficulty_score, difficulty_score FROM content_difficulty "
        "WHERE declared_difficulty_score IS NOT NULL",
    )
    ax2 = fig.add_subplot(1, 2, 2)
    if declared.height:
        ax2.scatter(declared["declared_difficulty_score"], declared["difficulty_score"], s=12)
        ax2.plot([0, 1], [0, 1], linestyle="--", color="grey")
        ax2.set_title("declared vs observed difficulty score")
    else:
        all_scores = frame(con, "SELECT difficulty_score FROM content_difficulty")
        ax2.hist(all_scores["difficulty_score"].to_numpy(), bins=20)
        ax2.set_title("observed difficulty score (no declared scores for these items)")
    ax2.set_xlabel("declared" if declared.height else "observed difficulty score")
    fig.suptitle(title)
    return fig


def ability_vs_truth(con: duckdb.DuckDBPyConnection) -> Figure:
    """Distribution of estimated learner abilities, next to the true abilities of the
    simulated learners when the truth is imported."""
    title = "Learner ability: estimate vs truth"
    if not has_relation(con, "learner_difficulty"):
        return _missing(title, "run `learnstream jobs run difficulty` first")
    estimates = frame(con, "SELECT learner_id, ability, ability_source FROM learner_difficulty")
    fig = _figure(11, 4.5)
    ax = fig.add_subplot(1, 2, 1)
    ax.hist(estimates["ability"].to_numpy(), bins=30, alpha=0.6, label="estimated", density=True)
    ax2 = fig.add_subplot(1, 2, 2)
    if has_relation(con, "truth_learners"):
        truth = frame(con, "SELECT key, ability_end FROM truth_learners")
        ax.hist(truth["ability_end"].to_numpy(), bins=30, alpha=0.6, label="true", density=True)
        paired = frame(
            con,
            "SELECT e.ability, t.ability_end FROM learner_difficulty e JOIN truth_learners t "
            "ON t.key = e.learner_id OR t.anonymous_session_id = e.learner_id "
            "OR t.learner_id = e.learner_id",
        )
        ax2.scatter(paired["ability_end"], paired["ability"], s=10, alpha=0.6)
        if paired.height > 1:
            r = float(np.corrcoef(paired["ability_end"], paired["ability"])[0, 1])
            ax2.set_title(f"estimate vs truth (r = {r:.2f}, n = {paired.height})")
        ax2.set_xlabel("true ability (end of run)")
        ax2.set_ylabel("estimated ability")
    else:
        ax2.set_axis_off()
        ax2.text(0.5, 0.5, "no simulator truth imported:\nonly the estimates are shown",
                 ha="center", va="center")
    source = estimates["ability_source"][0] if estimates.height else "none"
    ax.set_title(f"ability distribution (source: {source})")
    ax.legend()
    fig.suptitle(title)
    return fig


#: The report's plots, in order: file stem -> builder.
KEY_PLOTS: dict[str, Callable[[duckdb.DuckDBPyConnection], Figure]] = {
    "engagement_by_format_genre": engagement_by_format_and_genre,
    "retention_cohorts": retention_heatmap,
    "active_learners": active_learners,
    "session_lengths": session_lengths,
    "generation_funnel": generation_funnel,
    "difficulty_calibration": difficulty_calibration,
    "ability_vs_truth": ability_vs_truth,
}


def to_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
