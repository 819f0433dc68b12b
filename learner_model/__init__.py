"""Learner model: online ability, content difficulty, preferences and difficulty adjustment,
its batch refit and benchmark, the ``learner_model_state`` projection and the state API.

What the projector runs: :class:`LearnerModelProjection` (composed in ``app.projections``).
What the recommender imports: :class:`LearnerStateClient` (or :class:`AsyncLearnerStateClient`)
and :class:`LearnerStateResponse`.
"""

from learner_model.errors import (
    DatasetFormatError,
    LearnerModelError,
    StateUnavailable,
    UnknownLearner,
)
from learner_model.model.ability import AbilityParams, AbilityState
from learner_model.model.state import LearnerState, ModelParams, StateView, fold, view
from learner_model.projection import LearnerModelProjection
from learner_model.serving.async_client import AsyncLearnerStateClient
from learner_model.serving.client import LearnerStateClient, LearnerStateResponse

__all__ = [
    "AbilityParams",
    "AbilityState",
    "AsyncLearnerStateClient",
    "DatasetFormatError",
    "LearnerModelError",
    "LearnerModelProjection",
    "LearnerState",
    "LearnerStateClient",
    "LearnerStateResponse",
    "ModelParams",
    "StateUnavailable",
    "StateView",
    "UnknownLearner",
    "fold",
    "view",
]
