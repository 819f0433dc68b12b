"""The warehouse's exceptions, under the project tree (``learnstream.errors``)::

    LearnstreamError
    └── WarehouseError            something in the warehouse stage went wrong
        ├── TransportUnavailable  the requested Postgres -> Arrow transport cannot be used
        ├── ExportCorrupt         the Parquet tree and its manifest disagree beyond repair
        ├── UnknownJob            ``learnstream jobs run NAME`` with a NAME that does not exist
        └── WarehouseEmpty        a job or report needs data the warehouse does not have yet
"""

from __future__ import annotations

from learnstream.errors import LearnstreamError


class WarehouseError(LearnstreamError):
    """Base of the warehouse stage's errors."""


class TransportUnavailable(WarehouseError):
    """The requested transport is unknown or its package is not installed."""


class ExportCorrupt(WarehouseError):
    """The manifest cannot be read, or files contradict it in a way recovery cannot fix."""


class UnknownJob(WarehouseError):
    """No job has that name."""


class WarehouseEmpty(WarehouseError):
    """Nothing has been exported yet: run ``learnstream export`` first."""
