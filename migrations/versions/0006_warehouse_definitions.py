"""Warehouse definitions fixed: rates that are rates, partial windows flagged.

Engagement: a replay can complete a play without a new start, so ``completions / starts``
exceeded 1. The engagement job now writes ``completed_starts`` and ``skipped_starts`` (per
play, at most its starts) and divides those; keeping the counts lets
``engagement_by_dimension`` and a reader re-aggregate rates of sums. Existing rows get 0
until the job's next run, which replaces the table whole.

Activity: a WAU/MAU figure whose trailing window reaches back before the first exported day,
and a retention cell whose cohort week or activity week the data covers only in part, are
computed over part of their window; ``wau_partial``, ``mau_partial`` and ``partial`` say so.

Revision ID: 0006_warehouse_definitions
Revises: 0005_warehouse
"""

from alembic import op

revision = "0006_warehouse_definitions"
down_revision = "0005_warehouse"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE warehouse.content_engagement"
        " ADD COLUMN completed_starts BIGINT NOT NULL DEFAULT 0,"
        " ADD COLUMN skipped_starts BIGINT NOT NULL DEFAULT 0"
    )
    op.execute(
        "ALTER TABLE warehouse.daily_activity"
        " ADD COLUMN wau_partial BOOLEAN NOT NULL DEFAULT false,"
        " ADD COLUMN mau_partial BOOLEAN NOT NULL DEFAULT false"
    )
    op.execute(
        "ALTER TABLE warehouse.retention_cohorts ADD COLUMN partial BOOLEAN NOT NULL DEFAULT false"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE warehouse.retention_cohorts DROP COLUMN partial")
    op.execute(
        "ALTER TABLE warehouse.daily_activity DROP COLUMN wau_partial, DROP COLUMN mau_partial"
    )
    op.execute(
        "ALTER TABLE warehouse.content_engagement"
        " DROP COLUMN completed_starts, DROP COLUMN skipped_starts"
    )
