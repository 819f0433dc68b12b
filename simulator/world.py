"""The simulated world: a content catalog, courses with assessments, and learners, each with
hidden parameters (true difficulty, ability, learning rate, preferences) that the pipeline
never sees directly and the learner model has to recover from behaviour."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from learnstream.contracts import ContentCharacteristics, EventContext
from simulator.config import SimulationConfig
from simulator.ids import short_id

FORMATS: tuple[str, ...] = ("narrative", "podcast", "educational")
GENRES: tuple[str, ...] = (
    "mystery", "romance", "comedy", "history", "travel", "science", "sport", "drama",
)
TOPICS: tuple[str, ...] = (
    "food", "travel", "work", "family", "music", "art", "city-life", "nature", "technology",
    "football",
)
DIFFICULTY_KINDS: tuple[str, ...] = ("lexical-heavy", "discourse-heavy")
SKILLS: tuple[str, ...] = (
    "vocab.food", "vocab.travel", "vocab.work", "vocab.family", "grammar.articles",
    "grammar.passato-prossimo", "grammar.imperfetto", "grammar.congiuntivo", "grammar.pronouns",
    "listening.gist", "listening.detail", "discourse.connectors",
)
CEFR_LEVELS: tuple[str, ...] = ("A1", "A2", "B1", "B2", "C1", "C2")

_GENRE_IT = {
    "mystery": "Giallo", "romance": "Amore", "comedy": "Commedia", "history": "Storia",
    "travel": "Viaggio", "science": "Scienza", "sport": "Sport", "drama": "Dramma",
}
_TOPIC_IT = {
    "food": "al mercato", "travel": "in treno", "work": "in ufficio", "family": "in famiglia",
    "music": "a teatro", "art": "al museo", "city-life": "in piazza", "nature": "in montagna",
    "technology": "online", "football": "allo stadio",
}
_MEDIAN_DURATION = {"narrative": 420.0, "podcast": 780.0, "educational": 300.0}
_PLATFORMS = (("ios", "iPhone15,2"), ("android", "Pixel 8"), ("web", "Chrome 131"))

#: Declared difficulty_score = sigmoid(DECLARED_SLOPE * (true difficulty + noise)).
DECLARED_SLOPE = 0.8
DECLARED_NOISE_SD = 0.5
#: Seconds before ``start`` over which the catalog is generated.
CATALOG_LEAD_SECONDS = 3 * 86_400.0


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass(frozen=True, slots=True)
class ContentItem:
    """One generated audio piece. ``true_difficulty`` (logit scale, comparable to ability) is
    hidden; ``difficulty_score`` is what the generator declares, a noisy view of it."""

    index: int
    content_id: str
    generation_id: str
    title: str
    format: str
    genre: str
    topic: str
    difficulty_kind: str
    difficulty_score: float
    true_difficulty: float
    duration: int
    word_count: int
    level: str
    series_id: str | None
    episode_number: int | None
    published_at: float
    characteristics: ContentCharacteristics


@dataclass(frozen=True, slots=True)
class AssessmentItem:
    """One question. P(correct) = sigmoid(discrimination * (ability - difficulty))."""

    item_id: str
    skill: str
    difficulty: float
    discrimination: float
    assessment_id: str
    lesson_id: str
    course_id: str
    #: What the course author declares: a noisy view of ``difficulty`` on the catalog's 0..1
    #: ``difficulty_score`` scale (same slope and noise as audio content).
    declared_difficulty: float = 0.5


@dataclass(frozen=True, slots=True)
class Quiz:
    """A lesson's multi-question assessment; score is the number of correct answers."""

    assessment_id: str
    items: tuple[AssessmentItem, ...]
    passing_score: float = 70.0
    max_attempts: int = 3

    @property
    def skills(self) -> list[str]:
        return sorted({item.skill for item in self.items})

    @property
    def declared_difficulty(self) -> float:
        """The quiz's declared difficulty: the mean of its items' declared scores."""
        return round(sum(i.declared_difficulty for i in self.items) / len(self.items), 2)


@dataclass(frozen=True, slots=True)
class Lesson:
    lesson_id: str
    module_id: str
    course_id: str
    index: int
    study_minutes: float
    quiz: Quiz
    practice: tuple[AssessmentItem, ...]


@dataclass(frozen=True, slots=True)
class Course:
    course_id: str
    title: str
    level: float
    lessons: tuple[Lesson, ...]


@dataclass(slots=True)
class Enrolment:
    """A learner's progress through one course."""

    course: Course
    next_lesson: int = 0
    quiz_attempts: dict[str, int] = field(default_factory=dict)
    item_attempts: dict[str, int] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.next_lesson >= len(self.course.lessons)


@dataclass(slots=True)
class Learner:
    """Hidden traits (fixed for the run) and evolving state of one simulated person."""

    index: int
    learner_id: str
    #: Device-level session id used while anonymous; ``None`` for learners known from the start.
    anonymous_session_id: str | None
    #: Day on which an anonymous learner signs in; ``None``: never (or known from the start).
    identify_day: int | None
    ability_start: float
    learning_rate: float
    format_weights: dict[str, float]
    genre_weights: dict[str, float]
    topic_weights: dict[str, float]
    activity: float
    weekend_factor: float
    preferred_hour: float
    playback_rate: float
    study_propensity: float
    states_preferences: bool
    churn_day: int | None
    contexts: tuple[EventContext, EventContext]
    rng: random.Random
    # Evolving state.
    ability: float = 0.0
    identified: bool = False
    liked: set[str] = field(default_factory=set)
    heard: set[str] = field(default_factory=set)
    enrolments: list[Enrolment] = field(default_factory=list)
    visits: int = 0
    ability_by_day: list[float] = field(default_factory=list)

    @property
    def key(self) -> str:
        """How the pipeline knows this learner at the end of the run."""
        if self.anonymous_session_id is not None and self.identify_day is None:
            return self.anonymous_session_id
        return self.learner_id

    def utility(self, item: ContentItem) -> float:
        """Hidden liking of ``item``: sum of format, genre and topic weights."""
        return (
            self.format_weights[item.format]
            + self.genre_weights[item.genre]
            + self.topic_weights[item.topic]
        )


@dataclass(frozen=True, slots=True)
class FailedJob:
    """A generation job that never produced content."""

    generation_id: str
    queued_at: float
    error_message: str
    request: dict[str, str]


@dataclass(frozen=True, slots=True)
class World:
    catalog: tuple[ContentItem, ...]
    failed_jobs: tuple[FailedJob, ...]
    courses: tuple[Course, ...]
    learners: tuple[Learner, ...]


def stream_seed(seed: int, stream: int, index: int = 0) -> int:
    """An independent 64-bit seed for (``stream``, ``index``). Learner i's stream does not
    depend on how many learners there are, so growing a run keeps existing learners."""
    state = np.random.SeedSequence(entropy=seed, spawn_key=(stream, index)).generate_state(2)
    return int(state[0]) << 32 | int(state[1])


STREAM_WORLD, STREAM_LEARNER, STREAM_DELIVERY, STREAM_CATALOG_EVENTS = 0, 1, 2, 3
#: Declared item difficulties draw from their own stream so the rest of the world (and every
#: event derived from it) is the same as before they were added.
STREAM_DECLARED = 4


def build_world(config: SimulationConfig) -> World:
    """Draw the catalog, courses and learners for ``config`` (deterministic in its seed)."""
    rng = np.random.default_rng(stream_seed(config.seed, STREAM_WORLD))
    ids = random.Random(stream_seed(config.seed, STREAM_WORLD, 1))
    catalog = _build_catalog(config, rng, ids)
    failed = _build_failed_jobs(config, rng, ids, len(catalog))
    declared_rng = np.random.default_rng(stream_seed(config.seed, STREAM_DECLARED))
    courses = tuple(_build_course(rng, ids, declared_rng) for _ in range(config.course_count))
    learners = tuple(_build_learner(config, i) for i in range(config.learners))
    return World(catalog, failed, courses, learners)


def _level(score: float) -> str:
    return CEFR_LEVELS[min(len(CEFR_LEVELS) - 1, int(score * len(CEFR_LEVELS)))]


def _build_catalog(
    config: SimulationConfig, rng: np.random.Generator, ids: random.Random
) -> tuple[ContentItem, ...]:
    n = config.catalog_size
    start = config.start.timestamp()
    formats = rng.integers(0, len(FORMATS), n)
    genres = rng.integers(0, len(GENRES), n)
    topics = rng.integers(0, len(TOPICS), n)
    kinds = rng.integers(0, len(DIFFICULTY_KINDS), n)
    true_difficulty = rng.normal(0.0, 1.2, n)
    declared = 1.0 / (
        1.0 + np.exp(-DECLARED_SLOPE * (true_difficulty + rng.normal(0.0, DECLARED_NOISE_SD, n)))
    )
    spread = rng.lognormal(0.0, 0.45, n)
    published = np.sort(rng.uniform(start - CATALOG_LEAD_SECONDS, start - 600.0, n))
    items: list[ContentItem] = []
    series: dict[tuple[int, int], tuple[str, int]] = {}
    for i in range(n):
        fmt, genre, topic = FORMATS[formats[i]], GENRES[genres[i]], TOPICS[topics[i]]
        duration = int(max(60.0, _MEDIAN_DURATION[fmt] * spread[i]))
        score = round(float(declared[i]), 2)
        series_id: str | None = None
        episode: int | None = None
        if fmt == "narrative":
            # Narratives of one genre and topic form a series, numbered in publication order.
            sid, last = series.get((genres[i], topics[i]), (short_id(ids, "series"), 0))
            series_id, episode = sid, last + 1
            series[(genres[i], topics[i])] = (sid, episode)
        title = f"{_GENRE_IT[genre]} {_TOPIC_IT[topic]}"
        if episode is not None:
            title += f", episodio {episode}"
        kind = DIFFICULTY_KINDS[kinds[i]]
        items.append(
            ContentItem(
                index=i,
                content_id=short_id(ids, "content"),
                generation_id=short_id(ids, "gen"),
                title=title,
                format=fmt,
                genre=genre,
                topic=topic,
                difficulty_kind=kind,
                difficulty_score=score,
                true_difficulty=float(true_difficulty[i]),
                duration=duration,
                word_count=int(duration * 2.2),
                level=_level(score),
                series_id=series_id,
                episode_number=episode,
                published_at=float(published[i]),
                characteristics=ContentCharacteristics(
                    format=fmt,
                    genre=genre,
                    topic=topic,
                    difficulty=kind,
                    difficulty_score=score,
                    level=_level(score),
                    language="it",
                ),
            )
        )
    return tuple(items)


_FAILURES = (
    "TTS provider timed out after 120s",
    "LLM output failed schema validation 3 times",
    "audio mastering step exited with code 137 (out of memory)",
    "content policy filter rejected the generated script",
)


def _build_failed_jobs(
    config: SimulationConfig, rng: np.random.Generator, ids: random.Random, completed: int
) -> tuple[FailedJob, ...]:
    start = config.start.timestamp()
    count = int(rng.binomial(completed, 0.08))
    return tuple(
        FailedJob(
            generation_id=short_id(ids, "gen"),
            queued_at=float(rng.uniform(start - CATALOG_LEAD_SECONDS, start - 3600.0)),
            error_message=_FAILURES[int(rng.integers(0, len(_FAILURES)))],
            request={
                "format": FORMATS[int(rng.integers(0, len(FORMATS)))],
                "topic": TOPICS[int(rng.integers(0, len(TOPICS)))],
            },
        )
        for _ in range(count)
    )


def _build_course(rng: np.random.Generator, ids: random.Random,
                  declared_rng: np.random.Generator) -> Course:
    course_id = short_id(ids, "course")
    level = float(rng.normal(0.0, 0.7))
    topic = TOPICS[int(rng.integers(0, len(TOPICS)))]
    modules = int(rng.integers(2, 4))
    per_module = [int(rng.integers(2, 5)) for _ in range(modules)]
    total = sum(per_module)
    lessons: list[Lesson] = []
    for m, count in enumerate(per_module):
        module_id = f"{course_id}-m{m + 1}"
        for _ in range(count):
            index = len(lessons)
            lesson_id = short_id(ids, "lesson")
            # Later lessons are harder: the course climbs one logit from start to end.
            lesson_level = level - 0.5 + index / max(1, total - 1)
            skills = [SKILLS[int(s)] for s in rng.choice(len(SKILLS), 2, replace=False)]
            quiz_id = short_id(ids, "quiz")

            quiz_items = tuple(
                _item(rng, ids, declared_rng, skills[q % 2], lesson_level, quiz_id, lesson_id,
                      course_id)
                for q in range(int(rng.integers(5, 9)))
            )
            practice = tuple(
                _item(rng, ids, declared_rng, skills[q % 2], lesson_level, None, lesson_id,
                      course_id)
                for q in range(int(rng.integers(4, 7)))
            )
            lessons.append(
                Lesson(
                    lesson_id=lesson_id,
                    module_id=module_id,
                    course_id=course_id,
                    index=index,
                    study_minutes=float(rng.uniform(6.0, 18.0)),
                    quiz=Quiz(quiz_id, quiz_items),
                    practice=practice,
                )
            )
    title = f"Italiano {_TOPIC_IT[topic]} ({_level(sigmoid(DECLARED_SLOPE * level))})"
    return Course(course_id, title, level, tuple(lessons))


def _item(
    rng: np.random.Generator,
    ids: random.Random,
    declared_rng: np.random.Generator,
    skill: str,
    level: float,
    assessment_id: str | None,
    lesson_id: str,
    course_id: str,
) -> AssessmentItem:
    """An item of a quiz, or (``assessment_id`` None) a single-question practice item that is
    its own assessment."""
    item_id = short_id(ids, "item")
    difficulty = float(rng.normal(level, 0.6))
    noise = float(declared_rng.normal(0.0, DECLARED_NOISE_SD))
    return AssessmentItem(
        item_id=item_id,
        skill=skill,
        difficulty=difficulty,
        discrimination=float(rng.lognormal(0.0, 0.25)),
        assessment_id=assessment_id or item_id,
        lesson_id=lesson_id,
        course_id=course_id,
        declared_difficulty=round(sigmoid(DECLARED_SLOPE * (difficulty + noise)), 2),
    )


def _build_learner(config: SimulationConfig, index: int) -> Learner:
    rng = random.Random(stream_seed(config.seed, STREAM_LEARNER, index))
    learner_id = short_id(rng, "learner")
    anonymous = rng.random() < config.anonymous_share
    anonymous_session_id = short_id(rng, "anon") if anonymous else None
    identify_day: int | None = None
    if anonymous and rng.random() < config.identify_share:
        identify_day = rng.randrange(config.days)
    ability = rng.gauss(0.0, 1.0)
    platform, model = _PLATFORMS[rng.randrange(len(_PLATFORMS))]
    app_version = f"2.{rng.randrange(3, 7)}.{rng.randrange(10)}"
    locale = rng.choice(("en-US", "en-GB", "en-AU"))
    contexts = tuple(
        EventContext(
            device_info={"os": platform, "model": model},
            network_type=network,
            app_version=app_version,
            platform=platform,
            locale=locale,
        )
        for network in ("wifi", "cellular")
    )
    churn_day = rng.randrange(1, config.days + 1) if rng.random() < 0.15 else None
    if churn_day is not None and identify_day is not None and churn_day <= identify_day:
        churn_day = None  # a learner who signs in is still around that day
    return Learner(
        index=index,
        learner_id=learner_id,
        anonymous_session_id=anonymous_session_id,
        identify_day=identify_day,
        ability_start=ability,
        learning_rate=rng.lognormvariate(math.log(0.02), 0.4),
        format_weights={f: round(rng.gauss(0.0, 0.8), 4) for f in FORMATS},
        genre_weights={g: round(rng.gauss(0.0, 1.0), 4) for g in GENRES},
        topic_weights={t: round(rng.gauss(0.0, 0.7), 4) for t in TOPICS},
        activity=rng.betavariate(2.0, 2.5),
        weekend_factor=rng.uniform(0.6, 1.6),
        preferred_hour=rng.choice((7.5, 12.5, 18.5, 21.0)) + rng.gauss(0.0, 1.0),
        playback_rate=rng.choice((0.75, 0.9, 1.0, 1.0, 1.0, 1.25)),
        study_propensity=rng.betavariate(2.0, 2.0),
        states_preferences=rng.random() < 0.45,
        churn_day=churn_day,
        contexts=(contexts[0], contexts[1]),
        rng=rng,
        ability=ability,
        identified=not anonymous,
    )


def day_start(config: SimulationConfig, day: int) -> float:
    return (config.start + timedelta(days=day)).timestamp()
