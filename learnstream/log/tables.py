"""The append-only log's tables: one per event topic, in schema ``log`` (migration 0001).
The only place their names are spelled in code."""

from __future__ import annotations

from learnstream.contracts.topics import Topic

#: The log table each event topic lands in (schema ``log``).
LOG_TABLES: dict[Topic, str] = {
    Topic.BEHAVIOR: "behavioral_events",
    Topic.LIKES: "like_events",
    Topic.ACTIVITY: "activity_events",
    Topic.LEARNING: "learning_events",
    Topic.CATALOG: "catalog_events",
}

#: The table of refused messages, with their reasons and raw bytes.
DEAD_LETTERS = "dead_letters"

#: What became of a dead letter each time it was replayed (migration 0007).
DEAD_LETTER_REPLAYS = "dead_letter_replays"
