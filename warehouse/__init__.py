"""The warehouse stage: Parquet export of the log, DuckDB views, engagement and difficulty
jobs, plots and reports.

A notebook needs one line: ``con = warehouse.open()`` (a DuckDB connection with every view).
"""

from warehouse.catalog import open
from warehouse.erasure import FileErasure, apply_retention_to_warehouse, erase_from_warehouse
from warehouse.errors import (
    ExportCorrupt,
    TransportUnavailable,
    UnknownJob,
    WarehouseEmpty,
    WarehouseError,
)
from warehouse.export import Checkpoint, ExportResult, Manifest, export_log, export_readmodels
from warehouse.jobs import JOBS, JobResult, run_job

__all__ = [
    "JOBS",
    "Checkpoint",
    "ExportCorrupt",
    "ExportResult",
    "FileErasure",
    "JobResult",
    "Manifest",
    "TransportUnavailable",
    "UnknownJob",
    "WarehouseEmpty",
    "WarehouseError",
    "apply_retention_to_warehouse",
    "erase_from_warehouse",
    "export_log",
    "export_readmodels",
    "open",
    "run_job",
]
