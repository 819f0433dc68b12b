"""The projections that run: one plain list, composed here and nowhere else.

This set is what ``learnstream project`` runs, what the contract tests check and what the
projection benchmark rebuilds. Each read model has one owner in it (a test pins that).
"""

from __future__ import annotations

from datetime import timedelta

from learner_model.projection import LearnerModelProjection
from learnstream.log import SESSION_GAP
from projections import default_projections
from projections.projection import Projection


def running_projections(session_gap: timedelta = SESSION_GAP) -> list[Projection]:
    """The projector's set, in run order: the projections stage's read models (sessions
    split by ``session_gap``, the ``session_gap_minutes`` setting), then the learner model's
    state (which reads ``read.session_learners``-independent identity)."""
    return [*default_projections(session_gap), LearnerModelProjection()]
