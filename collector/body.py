"""Reading a request body without trusting it, and splitting it into events.

Pure apart from awaiting the body's chunks, so every hostile case is unit-tested directly:

- the size limit holds for what is received and for what gzip inflates to: the body is
  read chunk by chunk and inflated with ``max_length``, so neither an oversized body nor a
  small gzip bomb is ever held whole (at most the limit plus one chunk);
- the whole read runs under one timeout, so a slow body cannot hold a worker forever;
- JSON that cannot be parsed (including nesting deeper than orjson's 1024 levels and raw
  NUL bytes) is one 400 with a reason; events inside a readable batch are decoded one by
  one by the contracts, like ingest does.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import orjson

from collector.errors import RequestRejected

#: The body forms the collector reads. ``text/plain`` is what ``navigator.sendBeacon``
#: sends for a string, and it avoids a CORS preflight; its body may be JSON or NDJSON.
JSON_TYPES = frozenset({"application/json", "text/plain"})
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``; missing: JSON."""
    if not content_type:
        return "application/json"
    return content_type.split(";", 1)[0].strip().lower()


def check_content_type(content_type: str | None) -> str:
    kind = media_type(content_type)
    if kind not in JSON_TYPES and kind not in NDJSON_TYPES:
        raise RequestRejected(
            415, "unsupported_media_type",
            f"content type {kind!r} is not accepted; send application/json, "
            "application/x-ndjson or text/plain",
        )
    return kind


def check_encoding(encoding: str | None) -> bool:
    """True for gzip, False for none; 415 for anything else."""
    value = (encoding or "identity").strip().lower()
    if value in ("", "identity"):
        return False
    if value in ("gzip", "x-gzip"):
        return True
    raise RequestRejected(415, "unsupported_encoding",
                          f"content encoding {value!r} is not accepted; send gzip or none")


async def read_body(
    chunks: AsyncIterator[bytes],
    *,
    content_length: int | None,
    gzipped: bool,
    limit: int,
    timeout: float,
) -> bytes:
    """The body, inflated when ``gzipped``, or RequestRejected (413, 408, 400)."""
    if content_length is not None and content_length > limit:
        raise _too_large(f"Content-Length {content_length} exceeds the limit of {limit} bytes")
    try:
        async with asyncio.timeout(timeout):
            return await _read(chunks, gzipped=gzipped, limit=limit)
    except TimeoutError:
        raise RequestRejected(
            408, "body_timeout", f"the body did not arrive within {timeout:g} s"
        ) from None


async def _read(chunks: AsyncIterator[bytes], *, gzipped: bool, limit: int) -> bytes:
    received = 0
    parts: list[bytes] = []
    size = 0
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise _too_large(f"the body exceeds the limit of {limit} bytes")
        if inflater is None:
            parts.append(chunk)
            size = received
            continue
        data = chunk
        while data:
            try:
                # max_length: inflate at most one byte past the limit, never the whole bomb.
                out = inflater.decompress(data, limit - size + 1)
            except zlib.error as exc:
                raise RequestRejected(400, "bad_gzip", f"the gzip body is corrupt: {exc}") from None
            size += len(out)
            if size > limit:
                raise _too_large(f"the body inflates past the limit of {limit} bytes")
            parts.append(out)
            data = inflater.unconsumed_tail
            if inflater.eof:
                break
    if inflater is not None and not inflater.eof:
        raise RequestRejected(400, "bad_gzip", "the gzip body is truncated")
    return b"".join(parts)


def _too_large(detail: str) -> RequestRejected:
    return RequestRejected(413, "body_too_large", detail)


@dataclass(frozen=True, slots=True)
class ParsedBody:
    """A request's events as raw JSON bytes each (decoded later by the contracts), and the
    batch's ``sent_at`` when the client gave one. ``parsed``, when not None, holds each
    event already parsed from a JSON body (the same order), so it is not parsed again;
    NDJSON lines are parsed one by one when they are decoded."""

    events: list[bytes]
    sent_at: datetime | None
    parsed: list[object] | None = None


def parse_body(
    body: bytes, kind: str, *, max_events: int, sent_at: str | None = None
) -> ParsedBody:
    """Split ``body`` into events. Forms: one event object; a JSON array of events; an
    object ``{"sent_at": ..., "events": [...]}``; NDJSON (one event per line)."""
    if not body.strip():
        raise RequestRejected(400, "empty_body", "the body is empty; send one or more events")
    batch_sent_at: object = sent_at
    parsed: list[object] | None = None
    if kind in NDJSON_TYPES:
        events = _lines(body)
    else:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            if kind == "text/plain" and b"\n" in body.strip():
                events = _lines(body)  # sendBeacon with NDJSON
                data = None
            else:
                raise RequestRejected(400, "malformed_json",
                                      f"the body is not JSON: {exc}") from None
        else:
            parsed, batch_sent_at = _events_of(data, body, batch_sent_at)
            _check_count(len(parsed), max_events)
            # Re-serialised per element: what a dead letter keeps of an element, and what
            # the size limit counts, is this compact form of it.
            events = ([body] if parsed and parsed[0] is data
                      else [orjson.dumps(item) for item in parsed])
    _check_count(len(events), max_events)
    return ParsedBody(events, _sent_at(batch_sent_at), parsed)


def _check_count(count: int, max_events: int) -> None:
    if not count:
        raise RequestRejected(400, "empty_body", "the body holds no events")
    if count > max_events:
        raise RequestRejected(413, "too_many_events",
                              f"{count} events exceed the limit of {max_events} "
                              "per request; split the batch")


def _events_of(data: object, body: bytes, sent_at: object) -> tuple[list[object], object]:
    if isinstance(data, list):
        return data, sent_at
    if isinstance(data, dict):
        if "events" in data and "event_type" not in data:
            events = data["events"]
            if not isinstance(events, list):
                raise RequestRejected(400, "not_a_batch", "`events` must be an array of events")
            return events, data.get("sent_at", sent_at)
        return [data], sent_at
    raise RequestRejected(400, "not_a_batch", f"the body is a JSON {type(data).__name__}; "
                          "send an event object, an array of events or NDJSON")


def _lines(body: bytes) -> list[bytes]:
    # Each line is kept byte for byte (but a CR of CRLF): a dead letter holds what was sent.
    return [line.removesuffix(b"\r") for line in body.split(b"\n") if line.strip()]


def _sent_at(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise RequestRejected(400, "invalid_sent_at",
                          f"sent_at {str(value)[:64]!r} is not an RFC 3339 time with an offset")
