"""Learner model: online ability, content difficulty, preferences and difficulty adjustment,
its batch refit and benchmark, the ``learner_model_state`` projection and the state API.

What the recommender imports: :class:`LearnerStateClient` (or :class:`AsyncLearnerStateClient`)
and :class:`LearnerStateResponse`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learner_model.ability import AbilityParams, AbilityState
from learner_model.errors import (
    DatasetFormatError,
    LearnerModelError,
    NoFittedModel,
    StateUnavailable,
)
from learner_model.state import LearnerState, ModelParams, StateView, fold, view

if TYPE_CHECKING:
    from learner_model.async_client import AsyncLearnerStateClient
    from learner_model.client import LearnerStateClient, LearnerStateResponse

__all__ = [
    "AbilityParams",
    "AbilityState",
    "AsyncLearnerStateClient",
    "DatasetFormatError",
    "LearnerModelError",
    "LearnerState",
    "LearnerStateClient",
    "LearnerStateResponse",
    "ModelParams",
    "NoFittedModel",
    "StateUnavailable",
    "StateView",
    "fold",
    "view",
]


def __getattr__(name: str) -> object:
    # The clients pull in psycopg_pool; import them only when asked for.
    if name in ("LearnerStateClient", "LearnerStateResponse"):
        from learner_model import client

        return getattr(client, name)
    if name == "AsyncLearnerStateClient":
        from learner_model import async_client

        return async_client.AsyncLearnerStateClient
    raise AttributeError(name)
