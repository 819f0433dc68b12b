"""``learnstream report``: the key plots as PNG files and one self-contained HTML page."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import duckdb

from learnstream.settings import Settings
from warehouse import catalog
from warehouse.layout import WarehouseLayout, write_durably
from warehouse.plots import KEY_PLOTS, frame, has_relation, to_png

#: Tables shown in the HTML report under the plots: title -> query.
KEY_TABLES: dict[str, tuple[str, str]] = {
    "Top content by engagement score": (
        "content_engagement",
        "SELECT content_id, format, genre, starts, round(completion_rate, 3) AS completion_rate, "
        "round(engagement_score, 3) AS engagement_score FROM content_engagement "
        "ORDER BY engagement_score DESC NULLS LAST, content_id LIMIT 15",
    ),
    "Generation funnel": (
        "generation_funnel",
        "SELECT stage, count, round(conversion, 3) AS conversion FROM generation_funnel "
        "ORDER BY ordinal",
    ),
    "Largest difficulty mismatches": (
        "content_difficulty",
        "SELECT content_id, round(declared_difficulty_score, 3) AS declared, "
        "round(difficulty_score, 3) AS observed, outcomes FROM content_difficulty "
        "WHERE difficulty_mismatch IS NOT NULL "
        "ORDER BY abs(difficulty_mismatch) DESC, content_id LIMIT 15",
    ),
}


def _cell(value: object) -> str:
    # NULL is "not defined here" (the funnel's first conversion, a rate of no starts).
    return "&ndash;" if value is None else html.escape(str(value))


def _table_html(con: duckdb.DuckDBPyConnection, query: str) -> str:
    data = frame(con, query)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in data.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in data.iter_rows()
    )
    return f"<table><tr>{head}</tr>{rows}</table>"


def render_report(settings: Settings, out: Path | None = None) -> list[Path]:
    """Write every key plot as PNG and ``report.html`` to ``out`` (default: the warehouse's
    ``reports/``); return the paths written."""
    target = out or WarehouseLayout(settings.warehouse.dir).reports
    written: list[Path] = []
    sections: list[str] = []
    con = catalog.open(settings)
    try:
        for stem, build in KEY_PLOTS.items():
            png = to_png(build(con))
            path = target / f"{stem}.png"
            write_durably(path, png)
            written.append(path)
            encoded = base64.b64encode(png).decode()
            sections.append(
                f'<h2>{html.escape(stem)}</h2><img src="data:image/png;base64,{encoded}">'
            )
        for title, (relation, query) in KEY_TABLES.items():
            if has_relation(con, relation):
                sections.append(f"<h2>{html.escape(title)}</h2>{_table_html(con, query)}")
    finally:
        con.close()
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Learnstream report</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "img{max-width:100%}td,th{padding:2px 8px;border-bottom:1px solid #ddd}</style>"
        "</head><body><h1>Learnstream warehouse report</h1>"
        + "".join(sections)
        + "</body></html>"
    )
    report = target / "report.html"
    write_durably(report, page.encode())
    written.append(report)
    return written
