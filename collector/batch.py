"""What one request's events become: records to produce, dead letters to store, and the
answer for each event. Pure (no I/O), so the per-event rules are unit-tested directly.

Every event goes through ``decode_event`` with ingest's limits, so the collector gives the
same ``RejectionReason`` and detail the consumer would. Server-side fields are added under
``context.collector`` (the context is open-ended, so the log keeps them without a contract
change): ``received_at``, the app, and, when the batch carried ``sent_at``, that time and
``clock_skew_ms`` (server time minus ``sent_at``). ``occurred_at`` is kept as the client
sent it (see docs/sending-events.md for why). The client's IP and user agent are added only
when the settings say so.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from collector.body import ParsedBody
from collector.keys import WriteKey, family_of
from collector.producer import Record
from ingest.appender import DeadLetter
from ingest.dead_letters import KEY_CAP_BYTES, DeadLetterMessage
from ingest.rows import SourceOffset
from learnstream.contracts import Topic, decode_event, decode_parsed
from learnstream.errors import EventRejected, RejectionReason
from learnstream.settings import Settings

#: Dead letters from the collector name this as their source "topic" (with the app), the
#: write key's id as "partition" and a hash of the bytes as "offset": the table's unique
#: source key then makes a client's retry of the same bad bytes one dead letter, not two.
DEAD_LETTER_SOURCE = "collector"


def dead_letter_source(key: WriteKey, raw: bytes) -> SourceOffset:
    digest = int.from_bytes(hashlib.sha256(raw).digest()[:8], "big") >> 1  # fits BIGINT
    return SourceOffset(f"{DEAD_LETTER_SOURCE}:{key.app}", key.id, digest)


@dataclass(frozen=True, slots=True)
class Client:
    """What the request says about its sender (kept only when configured)."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass(slots=True)
class Examined:
    """One request, event by event."""

    results: list[dict[str, Any]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    forbidden: int = 0

    def dead_letter_records(self, settings: Settings) -> list[Record]:
        """The dead letters as messages of the dead-letter topic, as ingest publishes them."""
        topic = settings.topic(Topic.DEAD_LETTER)
        return [
            Record(topic, DEAD_LETTER_SOURCE.encode()[:KEY_CAP_BYTES],
                   DeadLetterMessage.from_dead_letter(dead).model_dump_json().encode())
            for dead in self.dead_letters
        ]


def examine(
    parsed: ParsedBody,
    key: WriteKey,
    settings: Settings,
    *,
    received_at: datetime,
    client: Client = Client(),
) -> Examined:
    """Decode, check the key's families, add the server-side fields, and sort every event."""
    part = settings.collector
    max_bytes = settings.ingest.max_event_bytes
    skew = timedelta(seconds=settings.ingest.max_future_skew_seconds)
    server_fields: dict[str, Any] = {"received_at": received_at.isoformat(), "app": key.app}
    if parsed.sent_at is not None:
        server_fields["sent_at"] = parsed.sent_at.isoformat()
        server_fields["clock_skew_ms"] = round(
            (received_at - parsed.sent_at).total_seconds() * 1000
        )
    if part.keep_ip and client.ip:
        server_fields["ip"] = client.ip
    if part.keep_user_agent and client.user_agent:
        server_fields["user_agent"] = client.user_agent[:512]
    out = Examined()
    topics: dict[Topic, str] = {}
    objects = parsed.parsed
    for index, raw in enumerate(parsed.events):
        try:
            if objects is None:
                event = decode_event(raw, max_bytes=max_bytes, max_future_skew=skew,
                                     now=received_at)
                data = orjson.loads(raw)
            else:
                data = objects[index]
                event = decode_parsed(data, raw, max_bytes=max_bytes, max_future_skew=skew,
                                      now=received_at)
        except EventRejected as rejection:
            out.rejected += 1
            out.results.append(_rejected(index, rejection))
            out.dead_letters.append(
                DeadLetter.from_rejection(rejection, raw, None, dead_letter_source(key, raw))
            )
            continue
        if not key.allows(event.topic):
            out.forbidden += 1
            out.results.append({
                "index": index, "status": "forbidden", "event_id": str(event.event_id),
                "detail": f"the key of app {key.app!r} may not send {family_of(event.topic)} "
                          f"events ({event.event_type})",
            })
            continue
        # The fields are spliced into the client's own JSON (parsed once, with the whole
        # body) rather than re-encoding the model: what the client sent travels unchanged,
        # and it is cheaper than a validate-copy-dump (measured: 1.1 -> 0.8 ms per batch of
        # 50, decoding included; body parse and examine 1.0 -> 0.77 ms since each event is
        # no longer parsed again).
        # The event passed decode_event, so its context is an object (or absent) and stays
        # valid with an extra key; a client's own "collector" key is overwritten: it is ours.
        assert isinstance(data, dict)
        data["context"] = {**(data.get("context") or {}), "collector": server_fields}
        value = orjson.dumps(data)
        if len(value) > max_bytes:
            # The server-side fields must not push an event past the limit ingest applies:
            # ingest would dead-letter what the collector had acknowledged as accepted.
            too_big = EventRejected(
                RejectionReason.OVERSIZED,
                f"{len(value)} bytes with the collector's fields exceeds the limit of "
                f"{max_bytes}", event_id=str(event.event_id), event_type=event.event_type,
            )
            out.rejected += 1
            out.results.append(_rejected(index, too_big))
            out.dead_letters.append(
                DeadLetter.from_rejection(too_big, raw, None, dead_letter_source(key, raw))
            )
            continue
        out.accepted += 1
        topic = topics.get(event.topic)
        if topic is None:
            topic = topics[event.topic] = settings.topic(event.topic)
        out.records.append(Record(topic, event.partition_key.encode(), value))
        out.results.append({"index": index, "status": "accepted",
                            "event_id": str(event.event_id)})
    return out


def _rejected(index: int, rejection: EventRejected) -> dict[str, Any]:
    result: dict[str, Any] = {"index": index, "status": "rejected",
                              "reason": str(rejection.reason), "detail": rejection.detail}
    if rejection.event_id is not None:
        result["event_id"] = rejection.event_id
    return result
