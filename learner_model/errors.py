"""Exceptions of the learner-model stage; the whole tree is drawn in
:mod:`learnstream.errors`."""

from __future__ import annotations

from learnstream.errors import LearnstreamError


class LearnerModelError(LearnstreamError):
    """Base of every error this stage raises on purpose."""


class DatasetFormatError(LearnerModelError):
    """A knowledge-tracing file lacks the expected columns or values."""


class UnknownLearner(LearnerModelError):
    """No event in the log belongs to this learner id, so there is nothing to explain (the
    state API serves such an id the cold-start prior)."""


class StateUnavailable(LearnerModelError):
    """The learner-state store could not be read (database down); retry. The state API
    answers 503 with Retry-After."""


class TokenError(LearnerModelError):
    """A state API token cannot be created or revoked as asked (a name taken, empty or
    unknown); the message says which."""
