"""Erasing learners from the warehouse directory: Parquet files rewritten, crash-safe.

Every Parquet file under the warehouse (event parts, read-model snapshots, job outputs,
simulator truth) is checked; a file holding a row of an erased learner is rewritten without
it through :func:`~warehouse.layout.write_parquet_durably` (temp file, fsync, atomic
rename), so a crash leaves the old file or the new one, never a torn one, and a rerun finds
what is left and finishes. Event parts use the log's predicate (the learner's rows, and the
anonymous rows of their sessions); other files drop any row whose learner, user or session
column names one of the ids. The manifest's row count is then recomputed from the part files
themselves, so it is right after a rerun too. Any other file (a report page or plot) that
contains an id's bytes is removed: ``learnstream report`` draws it again.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from warehouse.export import Manifest
from warehouse.layout import WarehouseLayout, write_parquet_durably

#: Columns that name a learner, and columns that name a (client) session.
LEARNER_COLUMNS = ("learner_id", "user_id")
SESSION_COLUMNS = ("session_id", "client_session_id")


@dataclass(frozen=True, slots=True)
class FileErasure:
    """One file an erasure changed (or would change): its path under the warehouse, the
    rows it had and the rows removed (None: the whole file removed)."""

    path: str
    rows_before: int | None
    rows_removed: int | None

    def as_receipt(self) -> dict[str, object]:
        return asdict(self)


def _in(table: pa.Table, column: str, values: pa.Array) -> pa.ChunkedArray:
    return pc.fill_null(pc.is_in(pc.cast(table[column], pa.string()), value_set=values), False)


def _erased(table: pa.Table, learners: pa.Array, sessions: pa.Array, events: bool) -> pa.Array:
    """True for the rows to remove."""
    names = set(table.column_names)
    if events:
        mine = _in(table, "learner_id", learners)
        anonymous = pc.and_(pc.is_null(table["learner_id"]), _in(table, "session_id", sessions))
        return pc.or_(mine, anonymous)
    erased = pa.chunked_array([pa.array([False] * table.num_rows, pa.bool_())])
    for column in LEARNER_COLUMNS:
        if column in names:
            erased = pc.or_(erased, _in(table, column, learners))
    for column in SESSION_COLUMNS:
        if column in names:
            erased = pc.or_(erased, _in(table, column, sessions))
    return erased


def _parquet_files(layout: WarehouseLayout) -> list[Path]:
    return sorted(p for p in layout.root.rglob("*.parquet") if not p.name.startswith("."))


def _other_files(layout: WarehouseLayout) -> list[Path]:
    # The rest of the tree is the manifest (positions, counts) and the DuckDB file (views).
    if not layout.reports.exists():
        return []
    return sorted(p for p in layout.reports.rglob("*") if p.is_file())


def erase_from_warehouse(
    layout: WarehouseLayout,
    learner_ids: Iterable[str],
    session_ids: Iterable[str],
    *,
    dry_run: bool = False,
) -> list[FileErasure]:
    """Remove the learners' rows from every file under ``layout`` (or, with ``dry_run``,
    only say which files would change)."""
    learners = pa.array(sorted(set(learner_ids)), pa.string())
    sessions = pa.array(sorted(set(session_ids)), pa.string())
    needles = [s.encode() for s in (*learners.to_pylist(), *sessions.to_pylist())]
    changed: list[FileErasure] = []
    if not layout.root.exists():
        return changed
    for path in _parquet_files(layout):
        relative = str(path.relative_to(layout.root))
        ids = [c for c in pq.read_schema(path).names if c in (*LEARNER_COLUMNS, *SESSION_COLUMNS)]
        if not ids:
            continue
        # The id columns decide; the whole file is read only when it has to be rewritten.
        erased = _erased(pq.read_table(path, columns=ids), learners, sessions,
                         events=path.is_relative_to(layout.events))
        removed = pc.sum(erased).as_py() or 0
        if removed:
            changed.append(FileErasure(relative, len(erased), removed))
            if not dry_run:
                write_parquet_durably(path, pq.read_table(path).filter(pc.invert(erased)))
    for path in _other_files(layout):
        data = path.read_bytes()
        if any(n in data for n in needles):
            changed.append(FileErasure(str(path.relative_to(layout.root)), None, None))
            if not dry_run:
                os.remove(path)
    if not dry_run and changed:
        _recount(layout)
    return changed


def _recount(layout: WarehouseLayout) -> None:
    """The manifest's row count from the part files (right after a crash and rerun too)."""
    if not layout.manifest.exists():
        return
    manifest = Manifest.load(layout)
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in layout.part_files())
    if rows != manifest.rows:
        Manifest(manifest.checkpoint, rows, manifest.batches, manifest.exported_at,
                 manifest.readmodels).save(layout)


def apply_retention_to_warehouse(
    layout: WarehouseLayout,
    table: str,
    event_types: Sequence[str] | None,
    before: datetime,
    *,
    dry_run: bool = False,
) -> list[FileErasure]:
    """Remove from the event parts the rows a retention policy removes from the log (the
    log table is the ``family`` column), the same crash-safe way."""
    changed: list[FileErasure] = []
    for path in layout.part_files():
        events = pq.read_table(path)
        old = pc.and_(pc.equal(events["family"], table), pc.less(events["occurred_at"], before))
        if event_types is not None:
            old = pc.and_(old, pc.is_in(events["event_type"], value_set=pa.array(event_types)))
        old = pc.fill_null(old, False)
        removed = pc.sum(old).as_py() or 0
        if removed:
            changed.append(FileErasure(str(path.relative_to(layout.root)), events.num_rows,
                                       removed))
            if not dry_run:
                write_parquet_durably(path, events.filter(pc.invert(old)))
    if not dry_run and changed:
        _recount(layout)
    return changed
