"""Exceptions of the ingest stage; the whole tree is drawn in :mod:`learnstream.errors`."""

from __future__ import annotations

from learnstream.errors import LearnstreamError, TransientError


class IngestInterrupted(TransientError):
    """A shutdown was requested while a batch was waiting for the database or broker.

    Nothing of the batch's offsets was committed; the next consumer receives it again.
    """


class ConsumerFailed(LearnstreamError):
    """An unexpected error stopped the consumer. Offsets of the failed batch are uncommitted."""


__all__ = ["ConsumerFailed", "IngestInterrupted"]
