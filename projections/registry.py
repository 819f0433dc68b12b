"""The projections this stage ships, in the order the projector runs them. The running set
(these plus the learner model's) is composed in ``app.projections``."""

from __future__ import annotations

from projections.activity import FeedbackProjection, SavedContentProjection
from projections.assessments import AssessmentAttemptProjection
from projections.catalog import (
    ContentProjection,
    ContentValidationProjection,
    GenerationStatusProjection,
)
from projections.likes import LikeEngagementProjection
from projections.preferences import SessionLearnersProjection, UserPreferencesProjection
from projections.progress import CourseEnrollmentProjection, StudentProgressProjection
from projections.projection import Projection
from projections.sessions import SessionProjection

DEFAULT_PROJECTIONS: tuple[type[Projection], ...] = (
    SessionLearnersProjection,
    SessionProjection,
    LikeEngagementProjection,
    StudentProgressProjection,
    CourseEnrollmentProjection,
    AssessmentAttemptProjection,
    ContentProjection,
    ContentValidationProjection,
    GenerationStatusProjection,
    UserPreferencesProjection,
    SavedContentProjection,
    FeedbackProjection,
)
