"""Exceptions of the projections stage (see ``learnstream.errors`` for the whole tree)::

LearnstreamError
└── ProjectionError
    ├── UnknownProjection     no projection of that name is registered
    └── ProjectionFailed      an event could not be applied; the projection stopped there
"""

from __future__ import annotations

from learnstream.errors import LearnstreamError


class ProjectionError(LearnstreamError):
    """Base of this stage's errors."""


class UnknownProjection(ProjectionError):
    """No projection of that name is registered."""


class ProjectionFailed(ProjectionError):
    """Applying an event raised; the projection's checkpoint stays before that event."""
