"""Personal free text in events: which fields (the contracts mark them with
:data:`~learnstream.contracts.envelope.PII`), and what ingest stores of them.

``keep`` stores the text as sent. ``hash`` stores ``sha256:<hex>`` of it: equal texts stay
equal (a repeated query is still countable) but the text is gone; a short, guessable text
can still be found by hashing guesses. ``drop`` stores nothing: ``None``, or ``""`` for a
field the contract requires (``query_text``, ``original_query``)."""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Literal

from pydantic import BaseModel

from learnstream.contracts.envelope import PII, Envelope

PiiMode = Literal["keep", "hash", "drop"]


@cache
def pii_fields(model: type[BaseModel]) -> tuple[tuple[str, bool], ...]:
    """(name, required) of each field of ``model`` marked as PII."""
    return tuple(
        (name, field.is_required())
        for name, field in model.model_fields.items()
        if isinstance(field.json_schema_extra, dict)
        and all(field.json_schema_extra.get(k) == v for k, v in PII.items())
    )


def _hashed(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def redacted(event: Envelope, mode: PiiMode) -> Envelope:
    """``event`` with its PII fields kept, hashed or dropped."""
    if mode == "keep":
        return event
    fields = pii_fields(type(event.payload))
    if not fields:
        return event
    changes: dict[str, str | None] = {}
    for name, required in fields:
        value = getattr(event.payload, name)
        if value is None:
            continue
        changes[name] = _hashed(value) if mode == "hash" else ("" if required else None)
    if not changes:
        return event
    return event.model_copy(update={"payload": event.payload.model_copy(update=changes)})
