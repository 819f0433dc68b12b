"""The projections that run: one plain list, composed here and nowhere else.

This set is what ``learnstream project`` runs, what the contract tests check and what the
projection benchmark rebuilds. Each read model has one owner in it (a test pins that).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from learner_model.projection import LearnerModelProjection
from learnstream.db import connect
from learnstream.log import SESSION_GAP
from learnstream.settings import Settings
from projections import default_projections
from projections.projection import Projection
from projections.rebuild import rebuild


def running_projections(session_gap: timedelta = SESSION_GAP) -> list[Projection]:
    """The projector's set, in run order: the projections stage's read models (sessions
    split by ``session_gap``, the ``session_gap_minutes`` setting), then the learner model's
    state (which reads ``read.session_learners``-independent identity)."""
    return [*default_projections(session_gap), LearnerModelProjection()]


def rebuild_running(settings: Settings, say: Callable[[str], None] = lambda _: None) -> list[str]:
    """Rebuild every running projection from the log, online (new generation, then swap),
    after rows left the log (an erasure, retention); return their names."""
    rebuilt: list[str] = []
    with connect(settings) as conn:
        for projection in running_projections(settings.session_gap):
            say(f"rebuilding {projection.name}")
            rebuild(conn, projection)
            rebuilt.append(projection.name)
    return rebuilt
