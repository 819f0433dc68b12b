"""Where every benchmark leaves its figures: ``bench/results/<stem>.json`` (the numbers)
and ``<stem>.md`` (the table the docs' generated blocks link to)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def publish(stem: str, result: Any, markdown: str) -> str:
    """Write ``result`` and ``markdown`` under ``stem``; return ``markdown`` (to print)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text(markdown)
    return markdown
