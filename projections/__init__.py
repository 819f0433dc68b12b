"""Projections: read models kept current from the append-only log, gap-safe and rebuildable.

Public surface: the :class:`Projection` interface (and the :class:`FoldProjection` helper)
other stages implement, the runner entry points, and rebuild. The log itself (checkpoints,
the gap-safe reader) is the kernel's: :mod:`learnstream.log`.
"""

from projections.fold import Col, FoldProjection, Group, GroupKind, Rule
from projections.projection import Projection, ReadTable, Store
from projections.rebuild import RebuildResult, rebuild
from projections.runner import (
    RunSummary,
    default_projections,
    project_until_caught_up,
    run_batch,
    run_projections,
)

__all__ = [
    "Col",
    "FoldProjection",
    "Group",
    "GroupKind",
    "Projection",
    "ReadTable",
    "RebuildResult",
    "Rule",
    "RunSummary",
    "Store",
    "default_projections",
    "project_until_caught_up",
    "rebuild",
    "run_batch",
    "run_projections",
]
