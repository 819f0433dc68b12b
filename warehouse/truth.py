"""Simulator ground truth as warehouse tables (``truth_learners``, ``truth_content``,
``truth_items``), so notebooks can put estimates next to what generated the data.

Reads the JSON file ``learnstream simulate --truth`` writes, as plain JSON: the warehouse
needs a few fields, not the simulator's classes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from learnstream.settings import Settings
from warehouse.errors import WarehouseError
from warehouse.layout import WarehouseLayout, write_parquet_durably


def _rows(section: dict[str, Any], fields: tuple[str, ...]) -> pa.Table:
    return pa.Table.from_pylist([{f: entry.get(f) for f in fields} for entry in section.values()])


def import_truth(settings: Settings, path: Path) -> dict[str, int]:
    """Write the truth file at ``path`` as Parquet under ``truth/``; return rows per table."""
    try:
        truth = json.loads(path.read_text())
        tables = {
            "learners": _rows(
                truth["learners"],
                ("key", "learner_id", "anonymous_session_id", "ability_start", "ability_end",
                 "learning_rate", "activity", "churn_day"),
            ),
            "content": _rows(
                truth["content"],
                ("content_id", "true_difficulty", "declared_difficulty_score", "format",
                 "genre", "topic", "difficulty_kind", "duration"),
            ),
            "items": _rows(
                truth["items"],
                ("item_id", "kind", "assessment_id", "lesson_id", "skill", "difficulty",
                 "discrimination"),
            ),
        }
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise WarehouseError(f"cannot read simulator truth {path}: {exc}") from exc
    layout = WarehouseLayout(settings.warehouse.dir)
    for name, table in tables.items():
        write_parquet_durably(layout.truth / f"{name}.parquet", table)
    return {name: t.num_rows for name, t in tables.items()}
