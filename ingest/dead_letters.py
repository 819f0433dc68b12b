"""The dead-letter topic's message: why a message was refused and its exact bytes.

Written after the dead letter is committed to ``log.dead_letters`` and before the source
offset is committed, so it is delivered at least once; consumers of the topic de-duplicate
on ``(source_topic, source_partition, source_offset)``, the same key the table has.
"""

from __future__ import annotations

import base64

from pydantic import BaseModel, ConfigDict, Field

from ingest.appender import DeadLetter
from learnstream.errors import RejectionReason


class DeadLetterMessage(BaseModel):
    """One refused message on ``learnstream.dead-letter`` (JSON)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: RejectionReason
    detail: str
    event_id: str | None = None
    event_type: str | None = None
    source_topic: str = Field(description="Physical topic the message was consumed from.")
    source_partition: int
    source_offset: int
    key_base64: str | None = Field(default=None, description="The Kafka key, base64.")
    raw_base64: str = Field(description="The message value exactly as received, base64.")
    raw_size: int = Field(ge=0)

    @classmethod
    def from_dead_letter(cls, dead: DeadLetter) -> DeadLetterMessage:
        return cls(
            reason=dead.reason,
            detail=dead.detail,
            event_id=dead.event_id,
            event_type=dead.event_type,
            source_topic=dead.source.topic,
            source_partition=dead.source.partition,
            source_offset=dead.source.offset,
            key_base64=None if dead.key is None else base64.b64encode(dead.key).decode(),
            raw_base64=base64.b64encode(dead.raw).decode(),
            raw_size=len(dead.raw),
        )

    def raw(self) -> bytes:
        """The original message value."""
        return base64.b64decode(self.raw_base64)
