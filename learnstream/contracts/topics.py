"""Kafka topics: one per stream family, plus the dead-letter topic."""

from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    """Logical topic names. Physical names may carry ``Settings.topic_namespace`` as prefix."""

    BEHAVIOR = "learnstream.behavior"
    LIKES = "learnstream.likes"
    ACTIVITY = "learnstream.activity"
    LEARNING = "learnstream.learning"
    CATALOG = "learnstream.catalog"
    DEAD_LETTER = "learnstream.dead-letter"


#: The topics that carry events (everything except the dead-letter topic).
EVENT_TOPICS: tuple[Topic, ...] = (
    Topic.BEHAVIOR,
    Topic.LIKES,
    Topic.ACTIVITY,
    Topic.LEARNING,
    Topic.CATALOG,
)
