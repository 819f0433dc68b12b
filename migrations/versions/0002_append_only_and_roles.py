"""The database itself keeps the log append-only, and two least-privilege roles.

- A trigger refuses UPDATE and DELETE on every log row and TRUNCATE on every log table,
  whoever asks (owners and superusers included, unless they drop the trigger on purpose).
- ``learnstream_ingest`` may only INSERT into the log; ``learnstream_reader`` may only SELECT.
  Both are NOLOGIN group roles: grant them to the login users of each service.

Revision ID: 0002_append_only_and_roles
Revises: 0001_event_log
"""

from alembic import op

revision = "0002_append_only_and_roles"
down_revision = "0001_event_log"
branch_labels = None
depends_on = None

LOG_TABLES = (
    "behavioral_events",
    "like_events",
    "activity_events",
    "learning_events",
    "catalog_events",
    "dead_letters",
)


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION log.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'log.% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    for table in LOG_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON log.{table} "
            "FOR EACH ROW EXECUTE FUNCTION log.refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON log.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION log.refuse_change()"
        )
    # Roles are cluster-wide: several databases (tests, environments) share them.
    for role in ("learnstream_ingest", "learnstream_reader"):
        op.execute(
            f"""
            DO $$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                    CREATE ROLE {role} NOLOGIN;
                END IF;
            END $$
            """
        )
        op.execute(f"GRANT {role} TO CURRENT_USER")
    op.execute("REVOKE ALL ON ALL TABLES IN SCHEMA log FROM PUBLIC")
    op.execute("GRANT USAGE ON SCHEMA log TO learnstream_ingest, learnstream_reader")
    op.execute("GRANT INSERT ON ALL TABLES IN SCHEMA log TO learnstream_ingest")
    op.execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA log TO learnstream_ingest")
    op.execute("GRANT SELECT ON ALL TABLES IN SCHEMA log TO learnstream_reader")


def downgrade() -> None:
    for role in ("learnstream_ingest", "learnstream_reader"):
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA log FROM {role}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA log FROM {role}")
        op.execute(f"REVOKE ALL ON SCHEMA log FROM {role}")
    for table in LOG_TABLES:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON log.{table}")
        op.execute(f"DROP TRIGGER {table}_append_only ON log.{table}")
    op.execute("DROP FUNCTION log.refuse_change()")
    # The roles stay: other databases on the same server may still use them.
