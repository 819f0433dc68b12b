"""Exceptions of the learner-model stage, under the shared tree::

    LearnstreamError
    ├── LearnerModelError          base of this stage
    │   ├── NoFittedModel          no model version has been fitted/stored yet
    │   └── DatasetFormatError     a knowledge-tracing file is not in the expected format
    └── TransientError
        └── StateUnavailable       the state store could not be read; retry
"""

from __future__ import annotations

from learnstream.errors import LearnstreamError, TransientError


class LearnerModelError(LearnstreamError):
    """Base of every error this stage raises on purpose."""


class NoFittedModel(LearnerModelError):
    """No fitted model version exists; run ``learnstream model fit`` first."""


class DatasetFormatError(LearnerModelError):
    """A knowledge-tracing file lacks the expected columns or values."""


class StateUnavailable(TransientError):
    """The learner-state store could not be read (database down); retry."""
