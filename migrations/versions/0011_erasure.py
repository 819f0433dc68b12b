"""Erasure and retention: the one audited way to delete from the append-only log.

The log's triggers refuse UPDATE, DELETE and TRUNCATE for every role (0002). Two
functions may delete, and nothing else:

- ``log.erase_learner(...)`` removes one learner's rows (their own, and the anonymous rows
  of the sessions stitched to them), the dead letters whose bytes name them, and their
  warehouse write-back rows; it appends a receipt (no PII: the id's hash, counts per table)
  and the hashes to the suppression list ingest checks.
- ``log.apply_retention(...)`` removes rows older than a cutoff from one log table, with a
  receipt.

Both are SECURITY DEFINER functions owned by ``learnstream_erasure_owner`` (NOLOGIN, a
member of nothing and granted to no one), executable only by ``learnstream_eraser``. The
trigger lets a DELETE through only when the current user is that owner *and* the
transaction-local flag ``learnstream.erasing`` is on, which only the two functions set: a
plain DELETE, by the owner of the tables included, is still refused. (A superuser can
always drop a trigger; this protects the log from every other role.)

Receipts (``log.erasures``), the files an erasure rewrote (``log.erasure_files``) and the
suppression list (``log.erasure_suppressions``) are append-only like the rest of the log.

Revision ID: 0011_erasure
Revises: 0010_log_indexes
"""

from alembic import op

revision = "0011_erasure"
down_revision = "0010_log_indexes"
branch_labels = None
depends_on = None

EVENT_TABLES = (
    "behavioral_events",
    "like_events",
    "activity_events",
    "learning_events",
    "catalog_events",
)
NEW_TABLES = ("erasures", "erasure_files", "erasure_suppressions")
OWNER = "learnstream_erasure_owner"
#: The advisory lock between erasures and ingest batches (ingest/suppression.py has it too).
SUPPRESSION_LOCK = 7_301_013
ERASER = "learnstream_eraser"

#: 0002's trigger function, with the one opening for the two functions below.
REFUSE_CHANGE = """
CREATE OR REPLACE FUNCTION log.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_user = '{owner}'
       AND current_setting('learnstream.erasing', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'log.% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

REFUSE_CHANGE_0002 = """
CREATE OR REPLACE FUNCTION log.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'log.% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

ERASE_LEARNER = """
CREATE FUNCTION log.erase_learner(
    p_learner_id text,
    p_learner_hash text,
    p_session_ids text[],
    p_session_hashes text[],
    p_needles bytea[]
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_rows jsonb := '{{}}'::jsonb;
    v_n bigint;
    v_table text;
    v_id bigint;
BEGIN
    -- Ingest holds this advisory lock shared while it reads the suppression list and
    -- writes a batch (ingest/suppression.py). Taken exclusive here, it waits for the
    -- batches in flight and makes later ones wait for this commit: no event of the learner
    -- lands after the erasure commits. (An advisory lock needs no table privilege.)
    PERFORM pg_advisory_xact_lock({lock_key});
    PERFORM set_config('learnstream.erasing', 'on', true);
    FOREACH v_table IN ARRAY ARRAY[{event_tables}] LOOP
        -- Their own rows, and the anonymous rows of their stitched sessions; another
        -- learner's identified rows in a shared session stay theirs.
        EXECUTE format('DELETE FROM log.%I WHERE learner_id = $1 '
                       'OR (learner_id IS NULL AND session_id = ANY($2))', v_table)
            USING p_learner_id, p_session_ids;
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_rows := v_rows || jsonb_build_object(v_table, v_n);
    END LOOP;
    -- Dead letters whose bytes carry the id or a session id as a JSON string.
    CREATE TEMP TABLE erased_letters ON COMMIT DROP AS
        SELECT d.id FROM log.dead_letters d
        WHERE EXISTS (SELECT 1 FROM unnest(p_needles) AS n(needle)
                      WHERE position(n.needle IN d.raw) > 0
                         OR position(n.needle IN coalesce(d.kafka_key, ''::bytea)) > 0
                         OR position(convert_from(n.needle, 'UTF8') IN d.detail) > 0);
    DELETE FROM log.dead_letter_replays r USING erased_letters e WHERE r.dead_letter_id = e.id;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_rows := v_rows || jsonb_build_object('dead_letter_replays', v_n);
    DELETE FROM log.dead_letters d USING erased_letters e WHERE d.id = e.id;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_rows := v_rows || jsonb_build_object('dead_letters', v_n);
    DROP TABLE erased_letters;
    DELETE FROM warehouse.learner_difficulty WHERE learner_id = p_learner_id;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_rows := v_rows || jsonb_build_object('warehouse.learner_difficulty', v_n);
    PERFORM set_config('learnstream.erasing', 'off', true);

    INSERT INTO log.erasures (kind, subject_hash, rows)
    VALUES ('erasure', p_learner_hash, v_rows) RETURNING id INTO v_id;
    INSERT INTO log.erasure_suppressions (subject_hash, kind, erasure_id)
    SELECT p_learner_hash, 'learner', v_id
    UNION ALL SELECT h, 'session', v_id FROM unnest(p_session_hashes) AS h
    ON CONFLICT (subject_hash) DO NOTHING;
    RETURN v_id;
END
$$
"""

APPLY_RETENTION = """
CREATE FUNCTION log.apply_retention(
    p_table text, p_event_types text[], p_before timestamptz
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_n bigint;
    v_id bigint;
BEGIN
    IF NOT p_table = ANY (ARRAY[{event_tables}]) THEN
        RAISE EXCEPTION 'no log table %', p_table USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('learnstream.erasing', 'on', true);
    EXECUTE format('DELETE FROM log.%I WHERE occurred_at < $1 '
                   'AND ($2 IS NULL OR event_type = ANY($2))', p_table)
        USING p_before, p_event_types;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    PERFORM set_config('learnstream.erasing', 'off', true);
    INSERT INTO log.erasures (kind, policy, rows)
    VALUES ('retention',
            jsonb_build_object('table', p_table, 'event_types', to_jsonb(p_event_types),
                               'before', p_before),
            jsonb_build_object(p_table, v_n))
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$
"""


def _ensure_role(role: str) -> None:
    # Roles are cluster-wide: several databases (tests, environments) share them.
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} NOLOGIN;
            END IF;
        END $$
        """
    )


def upgrade() -> None:
    _ensure_role(OWNER)
    _ensure_role(ERASER)
    op.execute(
        """
        CREATE TABLE log.erasures (
            id            BIGSERIAL   PRIMARY KEY,
            kind          TEXT        NOT NULL CHECK (kind IN ('erasure', 'retention')),
            subject_hash  TEXT,
            policy        JSONB,
            rows          JSONB       NOT NULL,
            performed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
            performed_by  TEXT        NOT NULL DEFAULT session_user
        )
        """
    )
    op.execute(
        """
        CREATE TABLE log.erasure_files (
            id           BIGSERIAL   PRIMARY KEY,
            erasure_id   BIGINT      NOT NULL REFERENCES log.erasures (id),
            recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
            files        JSONB       NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE log.erasure_suppressions (
            subject_hash  TEXT        PRIMARY KEY,
            kind          TEXT        NOT NULL CHECK (kind IN ('learner', 'session')),
            erasure_id    BIGINT      NOT NULL REFERENCES log.erasures (id)
        )
        """
    )
    for table in NEW_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON log.{table} "
            "FOR EACH ROW EXECUTE FUNCTION log.refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON log.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION log.refuse_change()"
        )
        op.execute(f"REVOKE ALL ON log.{table} FROM PUBLIC")
    op.execute(REFUSE_CHANGE.format(owner=OWNER))

    event_tables = ", ".join(f"'{t}'" for t in EVENT_TABLES)
    op.execute(ERASE_LEARNER.format(event_tables=event_tables, lock_key=SUPPRESSION_LOCK))
    op.execute(APPLY_RETENTION.format(event_tables=event_tables))

    # What the owner needs to do the functions' work, and nothing more.
    op.execute(f"GRANT USAGE ON SCHEMA log, warehouse TO {OWNER}")
    deletable = [*(f"log.{t}" for t in EVENT_TABLES), "log.dead_letters",
                 "log.dead_letter_replays", "warehouse.learner_difficulty"]
    op.execute(f"GRANT SELECT, DELETE ON {', '.join(deletable)} TO {OWNER}")
    op.execute(f"GRANT SELECT, INSERT ON log.erasures, log.erasure_suppressions TO {OWNER}")
    op.execute(f"GRANT USAGE ON SEQUENCE log.erasures_id_seq TO {OWNER}")
    # Changing a function's owner needs membership of the new owner (unless superuser);
    # the membership is dropped again at once, so no login role keeps it.
    op.execute(f"GRANT {OWNER} TO CURRENT_USER")
    for signature in ("erase_learner(text, text, text[], text[], bytea[])",
                      "apply_retention(text, text[], timestamptz)"):
        op.execute(f"ALTER FUNCTION log.{signature} OWNER TO {OWNER}")
        op.execute(f"REVOKE EXECUTE ON FUNCTION log.{signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION log.{signature} TO {ERASER}")
    op.execute(f"REVOKE {OWNER} FROM CURRENT_USER")

    # The eraser plans (reads what belongs to a learner), calls the functions and records
    # the files it rewrote; ingest and readers see the suppression list.
    op.execute(f"GRANT learnstream_reader TO {ERASER}")
    op.execute(f"GRANT SELECT ON {', '.join(f'log.{t}' for t in NEW_TABLES)} TO {ERASER}")
    op.execute(f"GRANT INSERT ON log.erasure_files TO {ERASER}")
    op.execute(f"GRANT USAGE ON SEQUENCE log.erasure_files_id_seq TO {ERASER}")
    # The collector appends dead letters with ingest's code (0009's role).
    op.execute("GRANT SELECT ON log.erasure_suppressions TO learnstream_ingest, "
               "learnstream_collector")
    op.execute("GRANT SELECT ON log.erasures, log.erasure_suppressions TO learnstream_reader")
    op.execute(f"GRANT {ERASER} TO CURRENT_USER")


def downgrade() -> None:
    op.execute("DROP FUNCTION log.apply_retention(text, text[], timestamptz)")
    op.execute("DROP FUNCTION log.erase_learner(text, text, text[], text[], bytea[])")
    op.execute(REFUSE_CHANGE_0002)
    for table in reversed(NEW_TABLES):
        op.execute(f"DROP TABLE log.{table}")
    for table in ("dead_letter_replays", "dead_letters", *EVENT_TABLES):
        op.execute(f"REVOKE ALL ON log.{table} FROM {OWNER}")
    op.execute(f"REVOKE ALL ON warehouse.learner_difficulty FROM {OWNER}")
    op.execute(f"REVOKE ALL ON SCHEMA log, warehouse FROM {OWNER}")
    # The roles stay: other databases on the same server may still use them.
