"""Catalog events: generation jobs moving through their states, the content they produce,
and its validation attempts. All happen before the first simulated day."""

from __future__ import annotations

import random
from collections.abc import Iterator

from learnstream.contracts import (
    ContentGenerated,
    ContentGeneratedPayload,
    ContentValidated,
    ContentValidatedPayload,
    Envelope,
    GenerationStatusChanged,
    GenerationStatusPayload,
    Payload,
)
from simulator.ids import event_uuid
from simulator.visit import timestamp
from simulator.world import ContentItem, FailedJob, World

_GENERATOR_CONTEXT = {"platform": "server", "app_version": "generator-1.8.2"}


class _Publisher:
    """Events of the content generator service (no learner; session = the job)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[tuple[float, Envelope]] = []

    def record(
        self,
        cls: type[Envelope],
        ts: float,
        session_id: str,
        payload: Payload,
        content_id: str | None = None,
    ) -> None:
        ts = round(ts, 3)
        # Concrete event classes default event_type; mypy only sees the base signature.
        self.events.append((ts, cls(  # type: ignore[call-arg]
            event_id=event_uuid(self.rng),
            occurred_at=timestamp(ts),
            session_id=session_id,
            content_id=content_id,
            payload=payload,
            context=_GENERATOR_CONTEXT,
        )))


def catalog_events(world: World, rng: random.Random) -> list[tuple[float, Envelope]]:
    """Every catalog event of the world as (occurred epoch seconds, event), unsorted."""
    publisher = _Publisher(rng)
    for item in world.catalog:
        _completed_job(publisher, item)
    for job in world.failed_jobs:
        _failed_job(publisher, job)
    return publisher.events


def _states(rng: random.Random, end: float) -> Iterator[tuple[float, str]]:
    """queued -> generating -> processing, spaced seconds to minutes apart, before ``end``."""
    processing = end - rng.uniform(20.0, 240.0)
    generating = processing - rng.uniform(30.0, 600.0)
    queued = generating - rng.uniform(1.0, 300.0)
    yield from ((queued, "queued"), (generating, "generating"), (processing, "processing"))


def _completed_job(publisher: _Publisher, item: ContentItem) -> None:
    rng = publisher.rng
    gid = item.generation_id
    request = {"format": item.format, "genre": item.genre, "topic": item.topic}
    done = item.published_at - rng.uniform(1.0, 30.0)
    for ts, state in _states(rng, done):
        publisher.record(GenerationStatusChanged, ts, gid, GenerationStatusPayload(
            generation_id=gid,
            status=state,
            estimated_completion_time=int(done - ts) + 1,
            request_payload=request if state == "queued" else None,
        ), item.content_id if state != "queued" else None)
    publisher.record(GenerationStatusChanged, done, gid, GenerationStatusPayload(
        generation_id=gid, status="completed"), item.content_id)
    publisher.record(ContentGenerated, item.published_at, gid, ContentGeneratedPayload(
        title=item.title,
        description=f"{item.format} in Italian about {item.topic} ({item.genre}).",
        format=item.format,
        genre=item.genre,
        topic=item.topic,
        difficulty=item.difficulty_kind,
        difficulty_score=item.difficulty_score,
        estimated_comprehension_level=item.level,
        duration=item.duration,
        word_count=item.word_count,
        audio_url=f"https://cdn.learnstream.example/audio/{item.content_id}.mp3",
        audio_bitrate=128_000,
        audio_size=item.duration * 16_000,
        template_id=f"template-{item.format}",
        template_version="3",
        model_parameters={"model": "gpt-4o", "temperature": 0.8, "voice": "it-IT-Neural2"},
        generated_by="generator-1.8.2",
        generation_id=gid,
        episode_number=item.episode_number,
        series_id=item.series_id,
        language="it",
        locale="it-IT",
        learning_objectives=[f"{item.topic} vocabulary", f"{item.difficulty_kind} listening"],
        estimated_completion_time=max(1, round(item.duration / 60)),
    ), item.content_id)
    # Validation runs after publication; a first attempt sometimes fails and is retried.
    ts = item.published_at
    attempts = 2 if rng.random() < 0.2 else 1
    for attempt in range(1, attempts + 1):
        ts += rng.uniform(5.0, 120.0)
        passed = attempt == attempts
        score = round(rng.uniform(0.75, 0.99) if passed else rng.uniform(0.3, 0.69), 2)
        publisher.record(ContentValidated, ts, gid, ContentValidatedPayload(
            attempt_number=attempt,
            passed=passed,
            validation_score=score,
            validation_result={"grammar": passed, "level_match": score > 0.6,
                               "issues": [] if passed else ["vocabulary above declared level"]},
        ), item.content_id)


def _failed_job(publisher: _Publisher, job: FailedJob) -> None:
    rng = publisher.rng
    failed_at = job.queued_at + rng.uniform(300.0, 1800.0)
    states = list(_states(rng, failed_at))
    # A job fails at some stage; it never gets past it.
    for ts, state in states[: rng.randint(1, 3)]:
        publisher.record(GenerationStatusChanged, ts, job.generation_id, GenerationStatusPayload(
            generation_id=job.generation_id,
            status=state,
            request_payload=job.request if state == "queued" else None,
        ))
    publisher.record(GenerationStatusChanged, failed_at, job.generation_id,
                     GenerationStatusPayload(generation_id=job.generation_id, status="failed",
                                             error_message=job.error_message))
