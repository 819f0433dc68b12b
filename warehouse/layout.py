"""Where things live under ``Settings.warehouse_dir``, and the durable-write primitive.

::

    warehouse_dir/
      manifest.json                       export checkpoint (written last, atomically)
      warehouse.duckdb                    views over everything below
      events/event_date=YYYY-MM-DD/part-<tx>.<pos>-<tx>.<pos>.parquet
      readmodels/<name>.parquet           snapshots of the projections' read models
      jobs/<job>/<table>.parquet          job outputs
      truth/learners.parquet              simulator ground truth, when imported
      reports/                            PNG/HTML from ``learnstream report``
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

#: Part file names carry the (tx_id, position) range they hold: recovery needs nothing else.
PART_NAME = re.compile(r"^part-(\d+)\.(\d+)-(\d+)\.(\d+)\.parquet$")


@dataclass(frozen=True, slots=True)
class WarehouseLayout:
    """Paths of one warehouse directory."""

    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def database(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def events(self) -> Path:
        return self.root / "events"

    @property
    def readmodels(self) -> Path:
        return self.root / "readmodels"

    @property
    def truth(self) -> Path:
        return self.root / "truth"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def job_dir(self, job: str) -> Path:
        return self.root / "jobs" / job

    def part_path(self, event_date: str, first: tuple[int, int], last: tuple[int, int]) -> Path:
        name = f"part-{first[0]:020d}.{first[1]:020d}-{last[0]:020d}.{last[1]:020d}.parquet"
        return self.events / f"event_date={event_date}" / name

    def part_files(self) -> list[Path]:
        return sorted(self.events.glob("event_date=*/part-*.parquet"))


def part_range(path: Path) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The ((tx, pos) first, (tx, pos) last) a part file's name declares, or None."""
    match = PART_NAME.match(path.name)
    if match is None:
        return None
    a, b, c, d = (int(g) for g in match.groups())
    return (a, b), (c, d)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (the directory entry itself)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_parquet_durably(path: Path, table: pa.Table) -> None:
    """Write ``table`` as Parquet at ``path``: temp file, fsync, atomic rename, fsync dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)
