"""Exceptions of the ingest stage, placed in the shared tree (``learnstream.errors``)::

    LearnstreamError
    ├── EventRejected                terminal: dead-letter the message (codec, UNSTORABLE)
    ├── TransientError
    │   ├── DatabaseUnavailable      retry the same batch, commit no offsets
    │   ├── BrokerUnavailable        retry the same batch, commit no offsets
    │   └── IngestInterrupted        shutdown while retrying: batch stays uncommitted
    └── ConsumerFailed               unexpected failure: consumer stopped, batch uncommitted
"""

from __future__ import annotations

from learnstream.errors import LearnstreamError, TransientError


class IngestInterrupted(TransientError):
    """A shutdown was requested while a batch was waiting for the database or broker.

    Nothing of the batch's offsets was committed; the next consumer receives it again.
    """


class ConsumerFailed(LearnstreamError):
    """An unexpected error stopped the consumer. Offsets of the failed batch are uncommitted."""


__all__ = ["ConsumerFailed", "IngestInterrupted"]
