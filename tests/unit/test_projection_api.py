"""The projections registry, and the gap rule's presence in every read."""

from __future__ import annotations

from learnstream.contracts import EVENT_TOPICS
from learnstream.log import frontier_sql, pending_sql, read_after_sql
from projections.registry import DEFAULT_PROJECTIONS


def test_every_read_of_every_log_table_applies_the_xmin_bound() -> None:
    for build in (read_after_sql, frontier_sql, pending_sql):
        text = repr(build(EVENT_TOPICS))
        assert text.count("pg_snapshot_xmin(pg_current_snapshot())") == len(EVENT_TOPICS)


def test_projection_names_and_tables_are_unique() -> None:
    names = [cls.name for cls in DEFAULT_PROJECTIONS]
    tables = [t.name for cls in DEFAULT_PROJECTIONS for t in cls.tables]
    assert len(set(names)) == len(names) and len(set(tables)) == len(tables)
