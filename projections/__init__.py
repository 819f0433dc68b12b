"""Projections: read models kept current from the append-only log, gap-safe and rebuildable.

Public surface: the :class:`Projection` interface (and the :class:`FoldProjection` helper)
other stages implement, the runner entry points, and rebuild/status.
"""

from projections.fold import Col, FoldProjection, Group, GroupKind, Rule
from projections.log_reader import Batch, frontier, read_batch
from projections.projection import Checkpoint, LogEvent, Projection, ReadTable, Store
from projections.rebuild import RebuildResult, rebuild
from projections.runner import (
    RunSummary,
    default_projections,
    project_until_caught_up,
    run_batch,
    run_projections,
)

__all__ = [
    "Batch",
    "Checkpoint",
    "Col",
    "FoldProjection",
    "Group",
    "GroupKind",
    "LogEvent",
    "Projection",
    "ReadTable",
    "RebuildResult",
    "Rule",
    "RunSummary",
    "Store",
    "default_projections",
    "frontier",
    "project_until_caught_up",
    "read_batch",
    "rebuild",
    "run_batch",
    "run_projections",
]
