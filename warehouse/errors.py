"""Exceptions of the warehouse stage; the whole tree is drawn in :mod:`learnstream.errors`."""

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
