"""Batch features for the ability model, built with Polars from an outcomes frame.

The outcomes frame has one row per graded answer, in log order::

    learner: str, seq: i64, item: str, skills: list[str], value: f64 (0..1),
    declared: f64 | null (the item's declared difficulty 0..1; optional column)

Every feature describes the learner's history *before* the row (cumulative sums minus the
row itself), with exactly the definitions of :func:`learner_model.model.ability.dense_features`;
``tests/unit/test_learner_model_features.py`` demands that both give the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import sparse

from learner_model.model.ability import DECLARED_CLIP, DENSE_FEATURES

OUTCOME_SCHEMA: dict[str, pl.DataType] = {
    "learner": pl.String(),
    "seq": pl.Int64(),
    "item": pl.String(),
    "skills": pl.List(pl.String()),
    "value": pl.Float64(),
    "declared": pl.Float64(),
}

OutcomeRow = (tuple[str, int, str, tuple[str, ...], float]
              | tuple[str, int, str, tuple[str, ...], float, float | None])


def outcomes_frame(rows: Iterable[OutcomeRow]) -> pl.DataFrame:
    """An outcomes frame from ``(learner, seq, item, skills, value[, declared])`` tuples."""
    learners, seqs, items, skills, values = [], [], [], [], []
    declared: list[float | None] = []
    for row in rows:
        learners.append(row[0])
        seqs.append(row[1])
        items.append(row[2])
        skills.append(list(row[3]))
        values.append(row[4])
        declared.append(row[5] if len(row) > 5 else None)
    return pl.DataFrame(
        {"learner": learners, "seq": seqs, "item": items, "skills": skills, "value": values,
         "declared": declared},
        schema=OUTCOME_SCHEMA,
    )


def _before(col: str, by: list[str], window: int | None = None) -> tuple[pl.Expr, pl.Expr]:
    """(sum of ``col`` before the row, count before the row) within ``by``, optionally only
    over the previous ``window`` rows."""
    cum_before = pl.col(col).cum_sum().over(by) - pl.col(col)
    n_before = pl.int_range(pl.len()).over(by).cast(pl.Float64)
    if window is None:
        return cum_before, n_before
    shifted = cum_before.shift(window).over(by).fill_null(0.0)
    return cum_before - shifted, pl.min_horizontal(n_before, pl.lit(float(window)))


def feature_frame(outcomes: pl.DataFrame, window: int = 10, skill_window: int = 5) -> tuple[
        pl.DataFrame, pl.DataFrame]:
    """(row features, per-skill features) for every outcome row.

    Row features: ``row, learner, item, value`` and every name in ``DENSE_FEATURES``.
    Per-skill features (one row per row x skill): ``row, skill, skill_correct_log,
    skill_wrong_log``.
    """
    df = outcomes.sort("seq").with_row_index("row")
    if "declared" not in df.columns:
        df = df.with_columns(declared=pl.lit(None, dtype=pl.Float64))
    # Same definition as ability.declared_features: clipped logit, 0 and a flag when unknown.
    clipped = pl.col("declared").clip(DECLARED_CLIP, 1.0 - DECLARED_CLIP)
    tc, tn = _before("value", ["learner"])
    ic, inn = _before("value", ["learner", "item"])
    rc, rn = _before("value", ["learner"], window)
    rows = df.with_columns(
        total_correct_log=tc.log1p(),
        total_wrong_log=(tn - tc).log1p(),
        item_correct_log=ic.log1p(),
        item_wrong_log=(inn - ic).log1p(),
        recent_correct=rc / window,
        recent_wrong=(rn - rc) / window,
        declared_logit=(clipped / (1.0 - clipped)).log().fill_null(0.0),
        declared_missing=pl.col("declared").is_null().cast(pl.Float64),
    )
    exploded = df.select("row", "learner", "skills", "value").explode("skills").rename(
        {"skills": "skill"}).filter(pl.col("skill").is_not_null())
    sc, sn = _before("value", ["learner", "skill"])
    src, srn = _before("value", ["learner", "skill"], skill_window)
    per_skill = exploded.with_columns(
        skill_correct_log=sc.log1p(),
        skill_wrong_log=(sn - sc).log1p(),
        _src=src,
        _srw=srn - src,
    )
    recent_by_row = per_skill.group_by("row").agg(
        skill_recent_correct=pl.col("_src").sum() / skill_window,
        skill_recent_wrong=pl.col("_srw").sum() / skill_window,
    )
    rows = rows.join(recent_by_row, on="row", how="left").with_columns(
        pl.col("skill_recent_correct").fill_null(0.0), pl.col("skill_recent_wrong").fill_null(0.0)
    ).sort("row")
    return (
        rows.select("row", "learner", "item", "value", *DENSE_FEATURES),
        per_skill.select("row", "skill", "skill_correct_log", "skill_wrong_log"),
    )


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Column layout of the design matrix: items, then skills x 3, then dense features."""

    items: tuple[str, ...]
    skills: tuple[str, ...]

    @property
    def width(self) -> int:
        return len(self.items) + 3 * len(self.skills) + len(DENSE_FEATURES)

    @classmethod
    def of(cls, rows: pl.DataFrame, per_skill: pl.DataFrame) -> Vocabulary:
        return cls(tuple(sorted(rows["item"].unique().to_list())),
                   tuple(sorted(per_skill["skill"].unique().to_list())))


def design_matrix(rows: pl.DataFrame, per_skill: pl.DataFrame,
                  vocab: Vocabulary) -> sparse.csr_matrix:
    """The sparse design matrix (one row per outcome) for scikit-learn."""
    n, n_items, n_skills = rows.height, len(vocab.items), len(vocab.skills)
    item_index = pl.DataFrame({"item": list(vocab.items), "_i": range(n_items)},
                              schema={"item": pl.String, "_i": pl.Int64})
    skill_index = pl.DataFrame({"skill": list(vocab.skills), "_s": range(n_skills)},
                               schema={"skill": pl.String, "_s": pl.Int64})
    it = rows.select("row", "item").join(item_index, on="item", how="inner")
    sk = per_skill.join(skill_index, on="skill", how="inner")
    parts_r, parts_c, parts_v = [], [], []
    parts_r.append(it["row"].to_numpy())
    parts_c.append(it["_i"].to_numpy())
    parts_v.append(np.ones(it.height))
    base = n_items
    for offset, col in ((0, None), (n_skills, "skill_correct_log"), (2 * n_skills,
                                                                       "skill_wrong_log")):
        parts_r.append(sk["row"].to_numpy())
        parts_c.append(base + offset + sk["_s"].to_numpy())
        parts_v.append(np.ones(sk.height) if col is None else sk[col].to_numpy())
    dense_base = n_items + 3 * n_skills
    dense = rows.select(DENSE_FEATURES).to_numpy()
    for j in range(len(DENSE_FEATURES)):
        parts_r.append(rows["row"].to_numpy())
        parts_c.append(np.full(n, dense_base + j))
        parts_v.append(dense[:, j])
    r = np.concatenate(parts_r).astype(np.int64)
    c = np.concatenate(parts_c).astype(np.int64)
    v = np.concatenate(parts_v).astype(np.float64)
    return sparse.csr_matrix((v, (r, c)), shape=(n, vocab.width))
