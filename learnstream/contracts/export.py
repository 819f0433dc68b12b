"""JSON Schema for every event type, written to files that are committed and drift-tested."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from learnstream.contracts.registry import EVENT_ADAPTER, EVENT_TYPES

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


def event_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema: one per event type, plus ``event.json`` for the union."""
    schemas: dict[str, dict[str, Any]] = {
        f"{event_type}.json": cls.model_json_schema()
        for event_type, cls in sorted(EVENT_TYPES.items())
    }
    schemas["event.json"] = EVENT_ADAPTER.json_schema()
    return schemas


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
