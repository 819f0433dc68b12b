"""Migration 0003 upgrades and downgrades cleanly, also after projections were built."""

from __future__ import annotations

from learnstream.db import connect, downgrade, migrate
from learnstream.settings import Settings
from projections.runner import default_projections, project_until_caught_up


def _schemas(settings: Settings) -> set[str]:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace"
            " WHERE nspname IN ('read', 'projections', 'projection_store')"
        ).fetchall()
        triggers = conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%%_notify'"
        ).fetchone()
    return {r[0] for r in rows} | ({"notify"} if triggers and triggers[0] else set())


def test_upgrade_build_downgrade_upgrade(empty_db_settings: Settings) -> None:
    migrate(empty_db_settings, "0003_projections")
    assert _schemas(empty_db_settings) == {"read", "projections", "projection_store", "notify"}
    summary = project_until_caught_up(empty_db_settings, default_projections())
    assert summary.table_rows and set(summary.table_rows.values()) == {0}
    downgrade(empty_db_settings, "0002_append_only_and_roles")
    assert _schemas(empty_db_settings) == set()
    migrate(empty_db_settings, "0003_projections")
    assert _schemas(empty_db_settings) == {"read", "projections", "projection_store", "notify"}
