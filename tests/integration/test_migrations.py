"""The migration chain goes up, all the way down, and up again on an empty database."""

from __future__ import annotations

from learnstream.db import connect, current_revision, downgrade, migrate
from learnstream.settings import Settings

LOG_TABLES = {"behavioral_events", "like_events", "activity_events", "learning_events",
              "catalog_events", "dead_letters"}


def _log_tables(settings: Settings) -> set[str]:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'log'"
        ).fetchall()
    return {str(r[0]) for r in rows}


def test_up_down_up(empty_db_settings: Settings) -> None:
    assert current_revision(empty_db_settings) is None

    migrate(empty_db_settings)
    head = current_revision(empty_db_settings)
    assert head is not None
    assert _log_tables(empty_db_settings) >= LOG_TABLES

    downgrade(empty_db_settings, "base")
    assert current_revision(empty_db_settings) is None
    assert _log_tables(empty_db_settings) == set()

    migrate(empty_db_settings)
    assert current_revision(empty_db_settings) == head
    assert _log_tables(empty_db_settings) >= LOG_TABLES
