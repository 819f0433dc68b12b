"""The hidden parameters of a run, written next to its events so the learner model can be
scored against what really generated the data."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from simulator.behavior import BEHAVIOUR_MODEL
from simulator.config import SimulationConfig
from simulator.learning import LEARNING_MODEL
from simulator.world import DECLARED_NOISE_SD, DECLARED_SLOPE, World


class _Truth(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PreferenceWeights(_Truth):
    """Additive utility: weight of the item's format + genre + topic."""

    format: dict[str, float]
    genre: dict[str, float]
    topic: dict[str, float]


class LearnerTruth(_Truth):
    key: str
    """How the pipeline knows the learner at the end: learner_id, or the anonymous
    session_id for those who never signed in."""
    learner_id: str | None
    anonymous_session_id: str | None
    identify_day: int | None
    ability_start: float
    ability_end: float
    ability_by_day: list[float]
    """Ability at the end of each simulated day (logit scale, same as difficulties)."""
    learning_rate: float
    preferences: PreferenceWeights
    activity: float
    playback_rate: float
    churn_day: int | None


class ContentTruth(_Truth):
    content_id: str
    true_difficulty: float
    """Logit scale, comparable to ability. The declared difficulty_score is
    sigmoid(declared_slope * (true_difficulty + N(0, declared_noise_sd)))."""
    declared_difficulty_score: float
    format: str
    genre: str
    topic: str
    difficulty_kind: str
    duration: int


class ItemTruth(_Truth):
    item_id: str
    kind: Literal["quiz", "practice"]
    assessment_id: str
    lesson_id: str
    course_id: str
    skill: str
    difficulty: float
    discrimination: float
    declared_difficulty: float


class CourseTruth(_Truth):
    course_id: str
    title: str
    level: float
    lesson_ids: list[str]


class GroundTruth(_Truth):
    config: SimulationConfig
    model: dict[str, float]
    learners: dict[str, LearnerTruth]
    content: dict[str, ContentTruth]
    items: dict[str, ItemTruth]
    courses: dict[str, CourseTruth]

    @cached_property
    def _by_identity(self) -> dict[str, LearnerTruth]:
        identities = dict(self.learners)
        for learner in self.learners.values():
            if learner.anonymous_session_id is not None:
                identities[learner.anonymous_session_id] = learner
        return identities

    def learner(self, identity: str) -> LearnerTruth:
        """The learner behind a ``learner_id`` or an anonymous ``session_id`` (including the
        anonymous history of learners who signed in later). KeyError if unknown."""
        return self._by_identity[identity]


def ground_truth(config: SimulationConfig, world: World) -> GroundTruth:
    """The truth of ``world`` as it stands (call after the run for end abilities)."""
    learners = {
        learner.key: LearnerTruth(
            key=learner.key,
            learner_id=learner.learner_id if learner.key == learner.learner_id else None,
            anonymous_session_id=learner.anonymous_session_id,
            identify_day=learner.identify_day,
            ability_start=learner.ability_start,
            ability_end=learner.ability,
            ability_by_day=[round(a, 5) for a in learner.ability_by_day],
            learning_rate=learner.learning_rate,
            preferences=PreferenceWeights(
                format=learner.format_weights,
                genre=learner.genre_weights,
                topic=learner.topic_weights,
            ),
            activity=learner.activity,
            playback_rate=learner.playback_rate,
            churn_day=learner.churn_day,
        )
        for learner in world.learners
    }
    content = {
        c.content_id: ContentTruth(
            content_id=c.content_id,
            true_difficulty=c.true_difficulty,
            declared_difficulty_score=c.difficulty_score,
            format=c.format,
            genre=c.genre,
            topic=c.topic,
            difficulty_kind=c.difficulty_kind,
            duration=c.duration,
        )
        for c in world.catalog
    }
    items: dict[str, ItemTruth] = {}
    for course in world.courses:
        for lesson in course.lessons:
            for kind, group in (("quiz", lesson.quiz.items), ("practice", lesson.practice)):
                for item in group:
                    items[item.item_id] = ItemTruth(
                        item_id=item.item_id,
                        kind=kind,
                        assessment_id=item.assessment_id,
                        lesson_id=item.lesson_id,
                        course_id=item.course_id,
                        skill=item.skill,
                        difficulty=item.difficulty,
                        discrimination=item.discrimination,
                        declared_difficulty=item.declared_difficulty,
                    )
    courses = {
        c.course_id: CourseTruth(
            course_id=c.course_id,
            title=c.title,
            level=c.level,
            lesson_ids=[lesson.lesson_id for lesson in c.lessons],
        )
        for c in world.courses
    }
    model = {
        **BEHAVIOUR_MODEL,
        **LEARNING_MODEL,
        "declared_slope": DECLARED_SLOPE,
        "declared_noise_sd": DECLARED_NOISE_SD,
    }
    return GroundTruth(
        config=config, model=model, learners=learners, content=content, items=items,
        courses=courses,
    )


def write_truth(truth: GroundTruth, path: Path) -> Path:
    """Write ``truth`` as JSON to ``path`` (parents created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(truth.model_dump_json(indent=1))
    return path


def load_truth(path: Path) -> GroundTruth:
    """Read a ground-truth file written by :func:`write_truth`."""
    return GroundTruth.model_validate_json(Path(path).read_bytes())
