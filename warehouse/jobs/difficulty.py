"""The difficulty job: calibrated difficulty per content from learner outcomes, its mismatch
with the declared difficulty, and per-learner inputs for difficulty adjustment.

Abilities come from the learner model when its state table exists (``ability_source =
'learner_model'``; only item difficulties are fitted then); otherwise the job fits a
Rasch/1PL model itself over the same outcomes (``'rasch'``). Difficulties are reported on the
logit scale (``calibrated_difficulty``) and on the 0..1 scale the catalog declares
(``difficulty_score`` = chance that the average learner fails).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import polars as pl

from warehouse.jobs.rasch import fit_rasch, sigmoid

#: Success chance the per-learner target difficulty aims at (a "desirable difficulty").
TARGET_SUCCESS = 0.7


def calibrate(
    outcomes: pl.DataFrame,
    declared: pl.DataFrame,
    abilities: Mapping[str, float] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(content_difficulty, learner_difficulty) from ``outcomes`` (learner_id, item_id,
    outcome in 0..1) and ``declared`` (content_id, declared_difficulty,
    declared_difficulty_score). ``abilities`` fixes learner abilities when given; learners it
    lacks get the mean of the known ones."""
    learners = outcomes["learner_id"].unique().sort()
    items = outcomes["item_id"].unique().sort()
    learner_index = {v: i for i, v in enumerate(learners.to_list())}
    item_index = {v: i for i, v in enumerate(items.to_list())}
    li = np.array([learner_index[v] for v in outcomes["learner_id"].to_list()], dtype=np.int64)
    ii = np.array([item_index[v] for v in outcomes["item_id"].to_list()], dtype=np.int64)
    y = outcomes["outcome"].cast(pl.Float64).to_numpy()
    fixed = None
    source = "rasch"
    if abilities:
        known = np.array(list(abilities.values()), dtype=np.float64)
        default = float(known.mean()) if known.size else 0.0
        fixed = np.array([abilities.get(v, default) for v in learners.to_list()])
        source = "learner_model"
    fit = fit_rasch(li, ii, y, n_learners=len(learners), n_items=len(items), fixed_ability=fixed)
    mean_ability = float(fit.ability.mean()) if len(learners) else 0.0
    counts = np.bincount(ii, minlength=len(items))
    successes = np.bincount(ii, y, len(items))
    content = pl.DataFrame(
        {
            "content_id": items,
            "calibrated_difficulty": fit.difficulty,
            "difficulty_se": fit.difficulty_se,
            "difficulty_score": sigmoid(fit.difficulty - mean_ability),
            "outcomes": counts.astype(np.int64),
            "success_rate": successes / np.maximum(counts, 1),
        }
    ).join(declared, on="content_id", how="left").with_columns(
        (pl.col("difficulty_score") - pl.col("declared_difficulty_score")).alias(
            "difficulty_mismatch"
        ),
        pl.lit(source).alias("ability_source"),
    )
    seen_p = sigmoid(fit.ability[li] - fit.difficulty[ii])
    attempts = np.bincount(li, minlength=len(learners))
    logit_target = math.log(TARGET_SUCCESS / (1 - TARGET_SUCCESS))
    learner = pl.DataFrame(
        {
            "learner_id": learners,
            "ability": fit.ability,
            # A fixed ability's uncertainty belongs to the learner model, not to this fit.
            "ability_se": np.full(len(learners), np.nan) if fixed is not None else fit.ability_se,
            "attempts": attempts.astype(np.int64),
            "success_rate": np.bincount(li, y, len(learners)) / np.maximum(attempts, 1),
            "expected_success_on_seen": np.bincount(li, seen_p, len(learners))
            / np.maximum(attempts, 1),
            # The item difficulty b with sigmoid(theta - b) = TARGET_SUCCESS, on the 0..1 scale.
            "target_difficulty_score": sigmoid(fit.ability - logit_target - mean_ability),
        },
    ).with_columns(pl.col("ability_se").fill_nan(None), pl.lit(source).alias("ability_source"))
    return content.select(
        "content_id", "declared_difficulty", "declared_difficulty_score",
        "calibrated_difficulty", "difficulty_se", "difficulty_score", "difficulty_mismatch",
        "outcomes", "success_rate", "ability_source",
    ).sort("content_id"), learner.sort("learner_id")
