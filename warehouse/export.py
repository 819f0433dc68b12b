"""Incremental, exactly-once export of the log to Parquet, and snapshots of the read models.

The log is read in batches after a checkpoint ``(tx_id, position)`` by the gap-safe rule
(see ``warehouse.queries.EXPORT_BATCH``). Each batch is written as one Parquet file per
event date, named for the batch's (tx_id, position) range, each made durable (temp file,
fsync, rename) *before* the manifest moves the checkpoint past it. So after a crash:

- files written but not yet checkpointed start after the checkpoint: recovery deletes them,
  and the rerun writes the same rows again (same batch or not: no file outlives recovery);
- the checkpoint never points past a file that is missing.

Rows are therefore exported exactly once, whatever point a crash interrupts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from learnstream.db import connect
from learnstream.settings import Settings
from warehouse.columns import EVENTS_SCHEMA, TIMESTAMP_COLUMNS, WIRE_SCHEMA
from warehouse.errors import ExportCorrupt
from warehouse.layout import (
    WarehouseLayout,
    part_range,
    write_durably,
    write_parquet_durably,
)
from warehouse.queries import EXPORT_BACKLOG, EXPORT_BATCH, EXPORT_HORIZON
from warehouse.transport import TransportName, open_transport

MANIFEST_VERSION = 1
DEFAULT_BATCH_ROWS = 200_000


@dataclass(frozen=True, slots=True, order=True)
class Checkpoint:
    """The last exported log row, as (tx_id, position); (0, 0) before the first export."""

    tx_id: int = 0
    position: int = 0


@dataclass(frozen=True, slots=True)
class Manifest:
    """What has been durably exported. Written last, atomically, after the files."""

    checkpoint: Checkpoint = Checkpoint()
    rows: int = 0
    batches: int = 0
    exported_at: str | None = None
    readmodels: tuple[str, ...] = ()

    @classmethod
    def load(cls, layout: WarehouseLayout) -> Manifest:
        if not layout.manifest.exists():
            return cls()
        try:
            raw = json.loads(layout.manifest.read_text())
            return cls(
                checkpoint=Checkpoint(**raw["checkpoint"]),
                rows=int(raw["rows"]),
                batches=int(raw["batches"]),
                exported_at=raw.get("exported_at"),
                readmodels=tuple(raw.get("readmodels", ())),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ExportCorrupt(f"unreadable manifest {layout.manifest}: {exc}") from exc

    def save(self, layout: WarehouseLayout) -> None:
        body = {"version": MANIFEST_VERSION, **asdict(self)}
        write_durably(layout.manifest, json.dumps(body, indent=2).encode())


@dataclass(slots=True)
class ExportResult:
    """What one ``export_log`` run did."""

    rows: int = 0
    batches: int = 0
    parts_written: int = 0
    orphans_removed: int = 0
    checkpoint: Checkpoint = Checkpoint()
    seconds: float = 0.0
    transport: str = ""
    readmodels: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def recover(layout: WarehouseLayout, checkpoint: Checkpoint) -> int:
    """Delete temp files and part files past ``checkpoint`` (left by a crashed run)."""
    removed = 0
    if not layout.events.exists():
        return 0
    for tmp in layout.events.glob("event_date=*/.*.tmp"):
        tmp.unlink()
        removed += 1
    limit = (checkpoint.tx_id, checkpoint.position)
    for path in layout.part_files():
        declared = part_range(path)
        if declared is None:
            continue
        first, last = declared
        if first > limit:
            path.unlink()
            removed += 1
        elif last > limit:
            # Batches are checkpointed whole, so a file can never straddle the checkpoint.
            raise ExportCorrupt(f"{path} straddles checkpoint {limit}")
    return removed


def _to_events_schema(wire: pa.Table) -> pa.Table:
    columns = [
        pc.cast(wire[name], EVENTS_SCHEMA.field(name).type) if name in TIMESTAMP_COLUMNS
        else wire[name]
        for name in EVENTS_SCHEMA.names
    ]
    return pa.Table.from_arrays(columns, schema=EVENTS_SCHEMA)


def _write_batch(layout: WarehouseLayout, batch: pa.Table) -> int:
    positions, tx_ids = batch["position"], batch["tx_id"]
    first = (tx_ids[0].as_py(), positions[0].as_py())
    last = (tx_ids[-1].as_py(), positions[-1].as_py())
    written = 0
    for day in pc.unique(batch["event_date"]).to_pylist():
        rows = batch.filter(pc.equal(batch["event_date"], pa.scalar(day, pa.date32())))
        # The directory name carries the date (hive layout); the file need not repeat it.
        rows = rows.drop_columns(["event_date"])
        write_parquet_durably(layout.part_path(day.isoformat(), first, last), rows)
        written += 1
    return written


def export_log(
    settings: Settings,
    *,
    transport: TransportName = "auto",
    batch_rows: int = DEFAULT_BATCH_ROWS,
    max_batches: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    before_checkpoint: Callable[[Checkpoint], None] | None = None,
) -> ExportResult:
    """Export every log row not yet exported; return what was done.

    ``on_batch(rows_done, rows_total)`` reports progress. ``before_checkpoint`` runs after a
    batch's files are durable and before the manifest records them (crash tests raise there).
    """
    layout = WarehouseLayout(settings.warehouse.dir)
    manifest = Manifest.load(layout)
    result = ExportResult(checkpoint=manifest.checkpoint)
    result.orphans_removed = recover(layout, manifest.checkpoint)
    started = time.perf_counter()
    with connect(settings, autocommit=True) as conn:
        horizon_row = conn.execute(EXPORT_HORIZON).fetchone()
        assert horizon_row is not None
        horizon = int(horizon_row[0])
        params: dict[str, Any] = {
            "horizon": horizon,
            "tx": str(manifest.checkpoint.tx_id),
            "pos": manifest.checkpoint.position,
        }
        backlog_row = conn.execute(EXPORT_BACKLOG, params).fetchone()
        backlog = int(backlog_row[0]) if backlog_row else 0
    source = open_transport(settings, transport)
    result.transport = source.name

    def fetch(after: Checkpoint) -> pa.Table:
        query = {**params, "tx": str(after.tx_id), "pos": after.position,
                 "limit": batch_rows}
        return _to_events_schema(source.fetch(EXPORT_BATCH, query, WIRE_SCHEMA))

    # While batch k is written to Parquet, batch k+1 is already being read from PostgreSQL
    # (its start is batch k's last row, known as soon as batch k arrives). Only the reading
    # runs ahead: files and the manifest are still written strictly in order.
    with ThreadPoolExecutor(max_workers=1) as prefetcher:
        pending: Future[pa.Table] = prefetcher.submit(fetch, manifest.checkpoint)
        try:
            while max_batches is None or result.batches < max_batches:
                batch = pending.result()
                if batch.num_rows == 0:
                    break
                checkpoint = Checkpoint(
                    batch["tx_id"][-1].as_py(), batch["position"][-1].as_py()
                )
                if max_batches is None or result.batches + 1 < max_batches:
                    pending = prefetcher.submit(fetch, checkpoint)
                result.parts_written += _write_batch(layout, batch)
                if before_checkpoint is not None:
                    before_checkpoint(checkpoint)
                manifest = Manifest(
                    checkpoint=checkpoint,
                    rows=manifest.rows + batch.num_rows,
                    batches=manifest.batches + 1,
                    exported_at=datetime.now(UTC).isoformat(),
                    readmodels=manifest.readmodels,
                )
                manifest.save(layout)
                result.rows += batch.num_rows
                result.batches += 1
                result.checkpoint = checkpoint
                if on_batch is not None:
                    on_batch(result.rows, backlog)
        finally:
            if not pending.cancel():
                pending.exception()  # let an in-flight read finish before its connection closes
            source.close()
    result.seconds = time.perf_counter() - started
    return result


#: Read models the warehouse snapshots: warehouse name -> table names it may have upstream.
READ_MODELS: dict[str, tuple[str, ...]] = {
    "sessions": ("sessions",),
    "content": ("content",),
    "progress": ("student_progress",),
    "learners": ("learners",),
    "course_enrollments": ("course_enrollments",),
    "assessment_attempts": ("assessment_attempts",),
    "like_engagement": ("like_engagement",),
    "user_preferences": ("user_preferences",),
    "session_learners": ("session_learners",),
    "generation_status": ("generation_status",),
    "learner_model_state": ("learner_model_state",),
}

_FIND_TABLES = """
SELECT table_schema, table_name FROM information_schema.tables
WHERE table_name = ANY(%(names)s)
  AND table_schema NOT IN ('log', 'warehouse', 'pg_catalog', 'information_schema')
  AND table_type IN ('BASE TABLE', 'VIEW')
ORDER BY table_schema = 'read' DESC, table_schema, table_name
"""


def _plain(value: Any) -> Any:
    # Arrow cannot infer UUID, Decimal or JSON objects; keep them as plain values.
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return value


def _rows_to_arrow(names: list[str], rows: Iterable[tuple[Any, ...]]) -> pa.Table:
    columns: dict[str, list[Any]] = {n: [] for n in names}
    for row in rows:
        for name, value in zip(names, row, strict=True):
            columns[name].append(_plain(value))
    arrays = {}
    for name, values in columns.items():
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[name] = pa.array([None if v is None else str(v) for v in values])
    return pa.table(arrays)


def export_readmodels(settings: Settings) -> list[str]:
    """Snapshot every read model that exists upstream to ``readmodels/<name>.parquet``.

    Read models are mutable (projections update rows), so they are copied whole each run and
    atomically replaced; only the log is exported incrementally.
    """
    layout = WarehouseLayout(settings.warehouse.dir)
    wanted = {upstream: name for name, names in READ_MODELS.items() for upstream in names}
    exported: list[str] = []
    with connect(settings, autocommit=True) as conn:
        found = conn.execute(_FIND_TABLES, {"names": list(wanted)}).fetchall()
        seen: set[str] = set()
        for schema, table in found:
            name = wanted[str(table)]
            if name in seen:
                continue
            seen.add(name)
            query = sql.SQL("SELECT * FROM {}.{}").format(
                sql.Identifier(str(schema)), sql.Identifier(str(table))
            )
            with conn.cursor() as cur:
                cur.execute(query)
                names = [d.name for d in cur.description or []]
                snapshot = _rows_to_arrow(names, cur.fetchall())
            write_parquet_durably(layout.readmodels / f"{name}.parquet", snapshot)
            exported.append(name)
    manifest = Manifest.load(layout)
    Manifest(
        manifest.checkpoint, manifest.rows, manifest.batches, manifest.exported_at,
        tuple(sorted(exported)),
    ).save(layout)
    return exported
