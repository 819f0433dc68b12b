"""The dead-letter topic's message: why a message was refused and its bytes.

Written after the dead letter is committed to ``log.dead_letters`` and before the source
offset is committed, so it is delivered at least once; consumers of the topic de-duplicate
on ``(source_topic, source_partition, source_offset)``, the same key the table has.

The message is bounded: the raw bytes (and the key and detail) are cut to
:data:`RAW_CAP_BYTES` (``raw_truncated`` says so, ``raw_size`` is the full size). A refused
message near the broker's size limit would otherwise make a dead-letter record larger than
the producer or broker accepts, and its publish could never succeed; the whole raw bytes are
always in ``log.dead_letters`` (``learnstream dead-letters show ID --raw``).
"""

from __future__ import annotations

import base64

from pydantic import BaseModel, ConfigDict, Field

from ingest.appender import DeadLetter
from learnstream.errors import RejectionReason

#: Most raw bytes a dead-letter topic message carries (base64 makes it ~342 KiB): four times
#: the default event limit (64 KiB), so a message refused for its size usually travels whole,
#: and the record stays far below the producer's and broker's 1 MiB defaults.
RAW_CAP_BYTES = 256 * 1024
#: Most bytes of the Kafka key and characters of the detail the message carries.
KEY_CAP_BYTES = 1024
DETAIL_CAP_CHARS = 4096


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
    raw_base64: str = Field(
        description="The message value as received, base64; its first RAW_CAP_BYTES bytes "
        "when raw_truncated (the whole value is in log.dead_letters)."
    )
    raw_size: int = Field(ge=0, description="Size of the whole message value.")
    raw_truncated: bool = False

    @classmethod
    def from_dead_letter(cls, dead: DeadLetter) -> DeadLetterMessage:
        key = None if dead.key is None else dead.key[:KEY_CAP_BYTES]
        return cls(
            reason=dead.reason,
            detail=dead.detail[:DETAIL_CAP_CHARS],
            event_id=dead.event_id,
            event_type=dead.event_type,
            source_topic=dead.source.topic,
            source_partition=dead.source.partition,
            source_offset=dead.source.offset,
            key_base64=None if key is None else base64.b64encode(key).decode(),
            raw_base64=base64.b64encode(dead.raw[:RAW_CAP_BYTES]).decode(),
            raw_size=len(dead.raw),
            raw_truncated=len(dead.raw) > RAW_CAP_BYTES,
        )

    def raw(self) -> bytes:
        """The message value this record carries (all of it unless ``raw_truncated``)."""
        return base64.b64decode(self.raw_base64)
