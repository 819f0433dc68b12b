"""Identifiers drawn from the run's random streams, so a seed fixes every id."""

from __future__ import annotations

import random
from uuid import UUID


def event_uuid(rng: random.Random) -> UUID:
    """A version-4 UUID built from 122 bits of ``rng`` (not from the OS, unlike uuid4())."""
    # version=4 overwrites the version and variant bits, leaving 122 random ones.
    return UUID(int=rng.getrandbits(128), version=4)


def short_id(rng: random.Random, prefix: str) -> str:
    """A readable id such as ``learner-3f9a0c12b7e4``; 48 random bits keep runs with different
    seeds from colliding when they share one log."""
    return f"{prefix}-{rng.getrandbits(48):012x}"
