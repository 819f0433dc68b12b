"""Erase learners everywhere: the log, the read models, the warehouse, with a receipt.

The order is what makes a crash harmless (rerun ``learnstream learner erase`` to finish):

1. **Plan** from the log (read-only): the learner's rows, sessions and dead letters.
2. **Warehouse, first pass**: rewrite the Parquet files holding them. Done before the log so
   that a crash cannot leave warehouse rows the log no longer names (a rerun plans again
   from the intact log).
3. **Log**: ``log.erase_learner`` per learner, all in one transaction, through the audited
   function (receipt + suppression list in the same commit).
4. **Read models**: every running projection is rebuilt from the remaining log, online
   (new generation, swap): the read models equal a fresh rebuild, checkpoints stay valid and
   a running projector keeps going. Done on every run, so a rerun after a crash between 3
   and 4 still clears them.
5. **Warehouse, second pass** (rows a concurrent ``learnstream export`` copied between 2
   and 3) and a fresh snapshot of the rebuilt read models; the files go into the receipt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from learnstream.db import connect, set_role
from learnstream.log.erasure import (
    ErasurePlan,
    erase_from_log,
    plan_erasure,
    record_files,
)
from learnstream.settings import Settings
from warehouse.erasure import FileErasure, erase_from_warehouse
from warehouse.layout import WarehouseLayout


@dataclass(slots=True)
class ErasureOutcome:
    """What an erasure of some learners did (or, dry, would do)."""

    plans: list[ErasurePlan]
    files: list[FileErasure] = field(default_factory=list)
    receipts: list[int] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)
    readmodels: list[str] = field(default_factory=list)
    dry_run: bool = False


def as_eraser(conn: Any, settings: Settings) -> None:
    # Least privilege: the eraser may read the log and call the two functions, nothing
    # else (migration 0011).
    set_role(conn, settings.privacy.eraser_role, "LEARNSTREAM_PRIVACY__ERASER_ROLE")


def erase_learners(
    settings: Settings,
    learner_ids: Sequence[str],
    *,
    dry_run: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> ErasureOutcome:
    """Erase ``learner_ids`` (see the module docstring for the order), or with ``dry_run``
    only report what would go."""
    from app.projections import rebuild_running
    from warehouse.export import export_readmodels

    layout = WarehouseLayout(settings.warehouse.dir)
    with connect(settings) as conn:
        as_eraser(conn, settings)
        say("finding what belongs to the learners")
        plans = [plan_erasure(conn, learner) for learner in learner_ids]
        conn.commit()
    learners = [p.learner_id for p in plans]
    sessions = [s for p in plans for s in p.session_ids]
    outcome = ErasureOutcome(plans, dry_run=dry_run)
    if dry_run:
        outcome.files = erase_from_warehouse(layout, learners, sessions, dry_run=True)
        return outcome

    say("rewriting warehouse files")
    files = {f.path: f for f in erase_from_warehouse(layout, learners, sessions)}
    with connect(settings) as conn:
        as_eraser(conn, settings)
        say("deleting from the log through log.erase_learner")
        with conn.transaction():
            outcome.receipts = [erase_from_log(conn, plan) for plan in plans]
    outcome.rebuilt = rebuild_running(settings, say)
    for late in erase_from_warehouse(layout, learners, sessions):
        files.setdefault(late.path, late)
    if (layout.readmodels.exists() and any(layout.readmodels.glob("*.parquet"))):
        say("snapshotting the rebuilt read models")
        outcome.readmodels = export_readmodels(settings)
    outcome.files = sorted(files.values(), key=lambda f: f.path)
    with connect(settings) as conn:
        as_eraser(conn, settings)
        with conn.transaction():
            for receipt in outcome.receipts:
                record_files(conn, receipt, [f.as_receipt() for f in outcome.files])
    return outcome
