"""The DuckDB file: views over the Parquet tree, so a notebook needs one line
(``warehouse.open()``) to query everything. Views hold glob paths, so files added by a later
export show up without rebuilding; ``refresh`` only re-creates the list of views."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from learnstream.log import SESSION_GAP, sessionized_sql
from learnstream.settings import Settings, load_settings
from warehouse.columns import CATALOG, EVENTS_SCHEMA, LEARNING
from warehouse.layout import WarehouseLayout

_DUCK_TYPES: dict[pa.DataType, str] = {
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
}


def derived_views(session_gap: timedelta = SESSION_GAP) -> dict[str, str]:
    """Views derived from ``events`` when the projections' read model is not exported (yet);
    sessions split by ``session_gap``."""
    return {
        "sessions": """
            SELECT v.session_id || ':' || CAST(v.visit AS VARCHAR) AS session_id,
                   v.session_id AS client_session_id, max(v.learner_id) AS learner_id,
                   min(v.occurred_at) AS started_at, max(v.occurred_at) AS ended_at,
                   epoch(max(v.occurred_at)) - epoch(min(v.occurred_at)) AS length_seconds,
                   count(*) AS events,
                   count(*) FILTER (WHERE v.event_type = 'playback.started') AS plays
            FROM (""" + sessionized_sql(
                # Learner-facing events only, as the engagement job's session lengths.
                f"SELECT * FROM events WHERE family <> '{CATALOG}'"
                " OR event_type = 'preferences.updated'", session_gap
            ) + """) AS v
            GROUP BY v.session_id, v.visit""",
        "content": """
            SELECT content_id, json_extract_string(payload, '$.title') AS title,
                   format, genre, topic, difficulty, difficulty_score, duration,
                   occurred_at AS generated_at
            FROM (SELECT *, row_number() OVER (PARTITION BY content_id ORDER BY position DESC) AS rn
                  FROM events WHERE event_type = 'content.generated')
            WHERE rn = 1""",
        "progress": """
            SELECT learner_id, lesson_id, max(course_id) AS course_id,
                   min(occurred_at) AS started_at,
                   max(occurred_at) FILTER (WHERE event_type = 'lesson.completed') AS completed_at,
                   max(score) FILTER (WHERE event_type = 'lesson.completed') AS best_score,
                   COALESCE(sum(time_spent_delta), 0) AS time_spent_seconds
            FROM events
            WHERE family = '""" + LEARNING + """' AND lesson_id IS NOT NULL
              AND learner_id IS NOT NULL
            GROUP BY learner_id, lesson_id""",
        "learners": """
            SELECT learner_id, min(occurred_at) AS first_seen, max(occurred_at) AS last_seen,
                   count(*) AS events, count(DISTINCT session_id) AS sessions
            FROM events WHERE learner_id IS NOT NULL GROUP BY learner_id""",
    }


def _quote(path: Path) -> str:
    # Paths are ours (settings), but a quote in a folder name must not break the view.
    return "'" + str(path).replace("'", "''") + "'"


def _empty_events_view() -> str:
    columns = ", ".join(
        f"CAST(NULL AS {_DUCK_TYPES[f.type]}) AS {f.name}" for f in EVENTS_SCHEMA
    )
    return f"SELECT {columns}, CAST(NULL AS DATE) AS event_date WHERE false"


def view_definitions(
    layout: WarehouseLayout, session_gap: timedelta = SESSION_GAP
) -> dict[str, str]:
    """Every view the warehouse offers right now: name -> SELECT."""
    views: dict[str, str] = {}
    if layout.part_files():
        glob = layout.events / "event_date=*" / "*.parquet"
        # Every part file has EVENTS_SCHEMA, so no union_by_name (it costs ~40 % on the
        # engagement scan). A future column change must rewrite old parts or add it back.
        views["events"] = f"SELECT * FROM read_parquet({_quote(glob)}, hive_partitioning = true)"
    else:
        views["events"] = _empty_events_view()
    for name, derived in derived_views(session_gap).items():
        snapshot = layout.readmodels / f"{name}.parquet"
        exported = snapshot.exists()
        views[name] = f"SELECT * FROM read_parquet({_quote(snapshot)})" if exported else derived
    for snapshot in sorted(layout.readmodels.glob("*.parquet")):
        views.setdefault(snapshot.stem, f"SELECT * FROM read_parquet({_quote(snapshot)})")
    for output in sorted((layout.root / "jobs").glob("*/*.parquet")):
        views[output.stem] = f"SELECT * FROM read_parquet({_quote(output)})"
    for truth in sorted(layout.truth.glob("*.parquet")):
        views[f"truth_{truth.stem}"] = f"SELECT * FROM read_parquet({_quote(truth)})"
    return views


def refresh(
    con: duckdb.DuckDBPyConnection, layout: WarehouseLayout, session_gap: timedelta = SESSION_GAP
) -> list[str]:
    """(Re)create every view in ``con``; return their names."""
    views = view_definitions(layout, session_gap)
    for name, select in views.items():
        con.sql(f'CREATE OR REPLACE VIEW "{name}" AS {select}')
    return list(views)


def open(settings: Settings | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to the warehouse file with every view up to date.

    If another process holds the file for writing, or ``read_only`` is asked, the file is
    opened read-only with the views as they were last refreshed.
    """
    settings = settings or load_settings()
    layout = WarehouseLayout(settings.warehouse.dir)
    layout.root.mkdir(parents=True, exist_ok=True)
    if not read_only or not layout.database.exists():
        try:
            con = duckdb.connect(str(layout.database))
        except duckdb.IOException:
            read_only = True
        else:
            refresh(con, layout, settings.session_gap)
            return con
    return duckdb.connect(str(layout.database), read_only=True)
