"""The projections this stage ships, in the order the projector runs them."""

from __future__ import annotations

from projections.likes import LikeEngagementProjection
from projections.projection import Projection
from projections.sessions import SessionProjection

DEFAULT_PROJECTIONS: tuple[type[Projection], ...] = (
    SessionProjection,
    LikeEngagementProjection,
)
