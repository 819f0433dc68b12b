"""JSON Schema for every event type, written to files that are committed and drift-tested."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from learnstream.contracts.registry import EVENT_ADAPTER, EVENT_TYPES

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


#: The dialect of every document, and the base of their ``$id``s.
DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "urn:learnstream:schema:"

#: RFC 3339 with a mandatory offset: ingest rejects a time without one (the client's zone is
#: unknown). Patterns, because many validators treat ``format`` as an annotation only.
DATE_TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)

#: The hyphenated form ``encode_event`` writes (ingest also reads other spellings).
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def event_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema: one per event type, plus ``event.json`` for the union.

    Pydantic's schemas are made as strict as ``decode_event`` where JSON Schema can say it:
    ``event_type`` is required (its default exists only for building events in Python),
    ``schema_version`` is one the code reads, and times carry an offset. What a schema cannot
    say is documented in docs/contracts.md (size limit, future skew, NUL characters, topic).
    A schema may be stricter than the server (RFC 3339 exactly, no numbers as strings),
    never looser: a client that validates against it sends nothing ingest refuses for shape.
    """
    schemas: dict[str, dict[str, Any]] = {}
    for event_type, cls in sorted(EVENT_TYPES.items()):
        name = f"{event_type}.json"
        schemas[name] = _strict(cls.model_json_schema(), name)
    schemas["event.json"] = _strict(EVENT_ADAPTER.json_schema(), "event.json")
    return schemas


def _strict(schema: dict[str, Any], name: str) -> dict[str, Any]:
    _tighten(schema)
    return {"$schema": DIALECT, "$id": f"{ID_BASE}{name}", **schema}


def _tighten(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _tighten(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("format") == "date-time":
        node["pattern"] = DATE_TIME_PATTERN
    elif node.get("format") == "uuid":
        node["pattern"] = UUID_PATTERN
    properties = node.get("properties")
    if isinstance(properties, dict):
        event_type = properties.get("event_type")
        if isinstance(event_type, dict) and "const" in event_type:
            cls = EVENT_TYPES[event_type["const"]]
            node["required"] = sorted({*node.get("required", ()), "event_type"})
            version = properties.get("schema_version")
            if isinstance(version, dict):
                version["enum"] = sorted(cls.supported_versions)
    for value in node.values():
        _tighten(value)


def render(document: dict[str, Any]) -> bytes:
    """Stable, diff-friendly JSON."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_documents(documents: dict[str, dict[str, Any]], out_dir: Path = SCHEMA_DIR) -> list[Path]:
    """Write each document; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in documents.items():
        path = out_dir / name
        path.write_bytes(render(document))
        written.append(path)
    return written
