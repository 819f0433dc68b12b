"""Collector write keys: which app may post events over HTTP, and which event families.

Only a SHA-256 of each key is stored (keys are 32 random bytes, so a fast hash is enough:
there is nothing to brute-force), with a short prefix for operators to tell keys apart.
``allowed_families`` NULL means every family; a browser key is usually limited to the
client-side families (catalog events are server-side). A revoked key keeps its row
(``revoked_at``), so the collector can answer 403 rather than 401 for it.

The collector runs as ``learnstream_collector``: it reads keys and inserts dead letters,
nothing else. Creating and revoking keys is an operator command (the login user).

Revision ID: 0009_collector_keys
Revises: 0008_item_metrics
"""

from alembic import op

revision = "0009_collector_keys"
down_revision = "0008_item_metrics"
branch_labels = None
depends_on = None

ROLE = "learnstream_collector"


def upgrade() -> None:
    op.execute("CREATE SCHEMA collector")
    op.execute(
        """
        CREATE TABLE collector.write_keys (
            id                BIGSERIAL   PRIMARY KEY,
            app               TEXT        NOT NULL
                CHECK (app ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
            key_hash          BYTEA       NOT NULL UNIQUE CHECK (length(key_hash) = 32),
            key_prefix        TEXT        NOT NULL,
            allowed_families  TEXT[],
            created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
            revoked_at        TIMESTAMPTZ
        )
        """
    )
    op.execute("CREATE INDEX write_keys_app_idx ON collector.write_keys (app)")
    # Roles are cluster-wide: several databases (tests, environments) share them.
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
                CREATE ROLE {ROLE} NOLOGIN;
            END IF;
        END $$
        """
    )
    op.execute(f"GRANT {ROLE} TO CURRENT_USER")
    op.execute("REVOKE ALL ON collector.write_keys FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA collector TO {ROLE}")
    op.execute(f"GRANT SELECT (id, app, key_hash, allowed_families, revoked_at) "
               f"ON collector.write_keys TO {ROLE}")
    op.execute(f"GRANT USAGE ON SCHEMA log TO {ROLE}")
    op.execute(f"GRANT INSERT ON log.dead_letters TO {ROLE}")
    op.execute(f"GRANT USAGE ON SEQUENCE log.dead_letters_id_seq TO {ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON SEQUENCE log.dead_letters_id_seq FROM {ROLE}")
    op.execute(f"REVOKE ALL ON log.dead_letters FROM {ROLE}")
    op.execute(f"REVOKE ALL ON SCHEMA log FROM {ROLE}")
    op.execute("DROP TABLE collector.write_keys")
    op.execute("DROP SCHEMA collector")
