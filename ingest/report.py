"""The end-of-run summary table."""

from __future__ import annotations

import time

from rich.table import Table

from ingest.summary import IngestSummary


def summary_table(summary: IngestSummary) -> Table:
    """Events inserted per topic, duplicates and dead letters (with reasons)."""
    elapsed = time.monotonic() - summary.started_at
    table = Table(title=f"ingest summary ({summary.messages} messages in {elapsed:.1f}s)")
    for column in ("topic", "messages", "inserted", "duplicates", "suppressed", "dead letters"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    for topic, totals in summary.topics.items():
        table.add_row(topic.value, str(totals.messages), str(totals.inserted),
                      str(totals.duplicates), str(totals.suppressed), str(totals.dead_lettered))
    table.add_row("[bold]total", str(summary.messages), str(summary.inserted),
                  str(summary.duplicates), str(summary.suppressed), str(summary.dead_lettered))
    if summary.dead_letter_reasons:
        reasons = ", ".join(f"{r}={n}" for r, n in sorted(summary.dead_letter_reasons.items()))
        table.caption = f"dead-letter reasons: {reasons}"
    return table
