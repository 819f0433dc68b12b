"""State API bearer tokens, and the projector's own role.

- ``learner_model.api_tokens``: one row per token, ``name`` (unique label), ``token_sha256``
  (the SHA-256 of the token; the token itself is shown once by ``learnstream tokens create``
  and stored nowhere), ``created_at``, ``revoked_at`` (NULL while valid). A plain SHA-256 is
  enough: tokens are 256 random bits (``secrets.token_urlsafe(32)``), so there is no
  dictionary to try and a slow hash would only slow every request down.
  ``learnstream_reader`` (the API's role) may SELECT only ``token_sha256`` and
  ``revoked_at``: it can check a token, not list names or dates.
- ``learnstream_projector``: a NOLOGIN group role for the projector service: it reads the
  log (SELECT, never INSERT/UPDATE/DELETE), reads the current model version, writes
  ``projections.checkpoints`` and creates its tables and views in ``projection_store`` and
  ``read``. Created if missing (roles are cluster-wide), like 0002's roles.
- ``log.newest_append_at()``: when the newest log row was received, for ingest's health check
  (``learnstream health --ingest``). SECURITY DEFINER so that ``learnstream_ingest``, which
  may not SELECT the log, can ask that one question and nothing else.

Self-contained (no object of another revision after 0008 is needed).

Revision ID: 0012_api_tokens
Revises: 0011_erasure
"""

from alembic import op

revision = "0012_api_tokens"
down_revision = "0011_erasure"
branch_labels = None
depends_on = None

PROJECTOR = "learnstream_projector"

#: Every table of the log, as 0002 and 0007 list them.
LOG_TABLES = (
    "behavioral_events",
    "like_events",
    "activity_events",
    "learning_events",
    "catalog_events",
    "dead_letters",
    "dead_letter_replays",
)
#: The families whose rows carry (tx_id, position); dead letters are ordered by id.
EVENT_TABLES = LOG_TABLES[:5]


def _newest_append_body() -> str:
    branches = [
        f"(SELECT received_at FROM log.{t} ORDER BY tx_id DESC, position DESC LIMIT 1)"
        for t in EVENT_TABLES
    ]
    branches.append("(SELECT received_at FROM log.dead_letters ORDER BY id DESC LIMIT 1)")
    return "SELECT max(received_at) FROM (" + " UNION ALL ".join(branches) + ") AS u"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE learner_model.api_tokens (
            id            BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name          TEXT        NOT NULL UNIQUE
                CHECK (length(name) BETWEEN 1 AND 100),
            token_sha256  BYTEA       NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
            created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
            revoked_at    TIMESTAMPTZ
        )
        """
    )
    op.execute("REVOKE ALL ON learner_model.api_tokens FROM PUBLIC")
    op.execute("GRANT SELECT (token_sha256, revoked_at) ON learner_model.api_tokens "
               "TO learnstream_reader")

    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PROJECTOR}') THEN
                CREATE ROLE {PROJECTOR} NOLOGIN;
            END IF;
        END $$
        """
    )
    op.execute(f"GRANT {PROJECTOR} TO CURRENT_USER")
    op.execute(f"GRANT USAGE ON SCHEMA log TO {PROJECTOR}")
    for table in LOG_TABLES:
        op.execute(f"GRANT SELECT ON log.{table} TO {PROJECTOR}")
    op.execute(f"GRANT USAGE ON SCHEMA learner_model TO {PROJECTOR}")
    op.execute(f"GRANT SELECT ON learner_model.model_versions TO {PROJECTOR}")
    op.execute(f"GRANT USAGE ON SCHEMA projections TO {PROJECTOR}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON projections.checkpoints TO {PROJECTOR}")
    op.execute(f"GRANT USAGE, CREATE ON SCHEMA read, projection_store TO {PROJECTOR}")

    op.execute(
        f"""
        CREATE FUNCTION log.newest_append_at() RETURNS timestamptz
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $$ {_newest_append_body()} $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION log.newest_append_at() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION log.newest_append_at() "
               f"TO learnstream_ingest, {PROJECTOR}")


def downgrade() -> None:
    op.execute("DROP FUNCTION log.newest_append_at()")
    op.execute(f"REVOKE ALL ON SCHEMA read, projection_store FROM {PROJECTOR}")
    op.execute(f"REVOKE ALL ON projections.checkpoints FROM {PROJECTOR}")
    op.execute(f"REVOKE ALL ON SCHEMA projections FROM {PROJECTOR}")
    op.execute(f"REVOKE ALL ON learner_model.model_versions FROM {PROJECTOR}")
    op.execute(f"REVOKE ALL ON SCHEMA learner_model FROM {PROJECTOR}")
    for table in LOG_TABLES:
        op.execute(f"REVOKE ALL ON log.{table} FROM {PROJECTOR}")
    op.execute(f"REVOKE ALL ON SCHEMA log FROM {PROJECTOR}")
    op.execute("DROP TABLE learner_model.api_tokens")
    # The role stays: other databases on the same server may still use it.
