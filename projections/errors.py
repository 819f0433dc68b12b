"""Exceptions of the projections stage; the whole tree is drawn in :mod:`learnstream.errors`."""

from __future__ import annotations

from learnstream.errors import LearnstreamError


class ProjectionError(LearnstreamError):
    """Base of this stage's errors."""


class UnknownProjection(ProjectionError):
    """No projection of that name is registered."""
