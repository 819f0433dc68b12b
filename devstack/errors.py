"""Why the local stack could not do what was asked; the whole tree is drawn in
:mod:`learnstream.errors`."""

from __future__ import annotations

from learnstream.errors import LearnstreamError

__all__ = ["PrerequisiteError", "StackError", "StartError"]


class StackError(LearnstreamError):
    """The local stack (Kafka, PostgreSQL) could not be installed, started or reached."""


class PrerequisiteError(StackError):
    """Something the stack needs on this machine is missing or unusable."""


class StartError(StackError):
    """A server failed to start, did not answer in time, or its port is taken."""
