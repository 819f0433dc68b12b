"""Named SQL of the projections stage (checkpoints, views). Values are always bound
parameters; identifiers are composed with ``psycopg.sql``."""

from __future__ import annotations

from psycopg import sql

from projections.projection import Projection, Store

LOCK_CHECKPOINT = """
SELECT version, generation, tx_id::text::bigint, position, last_error
FROM projections.checkpoints WHERE name = %s FOR UPDATE SKIP LOCKED
"""

LOCK_CHECKPOINT_WAIT = """
SELECT version, generation, tx_id::text::bigint, position, last_error
FROM projections.checkpoints WHERE name = %s FOR UPDATE
"""

GET_CHECKPOINT = """
SELECT version, generation FROM projections.checkpoints WHERE name = %s
"""

ADVANCE_CHECKPOINT = """
UPDATE projections.checkpoints
SET tx_id = %s::text::xid8, position = %s, events_applied = events_applied + %s,
    updated_at = now()
WHERE name = %s
"""

RECORD_FAILURE = """
UPDATE projections.checkpoints
SET tx_id = %s::text::xid8, position = %s, events_applied = events_applied + %s,
    updated_at = now(), last_error = %s, error_event_id = %s, error_position = %s,
    failed_at = now()
WHERE name = %s
"""

CLEAR_FAILURE = """
UPDATE projections.checkpoints
SET last_error = NULL, error_event_id = NULL, error_position = NULL, failed_at = NULL
WHERE name = %s
"""

SWAP_CHECKPOINT = """
INSERT INTO projections.checkpoints
    (name, version, generation, tx_id, position, events_applied, rebuilt_at, updated_at)
VALUES (%(name)s, %(version)s, %(generation)s, %(tx)s::text::xid8, %(pos)s, %(applied)s,
        now(), now())
ON CONFLICT (name) DO UPDATE SET
    version = EXCLUDED.version, generation = EXCLUDED.generation, tx_id = EXCLUDED.tx_id,
    position = EXCLUDED.position, events_applied = EXCLUDED.events_applied,
    rebuilt_at = now(), updated_at = now(), last_error = NULL, error_event_id = NULL,
    error_position = NULL, failed_at = NULL
"""

ALL_CHECKPOINTS = """
SELECT name, version, generation, tx_id::text::bigint, position, events_applied, rebuilt_at,
       updated_at, last_error, error_event_id, error_position, failed_at
FROM projections.checkpoints ORDER BY name
"""

REBUILD_LOCK = "SELECT pg_advisory_lock(hashtext('learnstream.rebuild.' || %s))"
REBUILD_UNLOCK = "SELECT pg_advisory_unlock(hashtext('learnstream.rebuild.' || %s))"

STORE_SCHEMA = "projection_store"


def store_for(projection: Projection, generation: int) -> Store:
    """The physical tables of ``generation`` of ``projection``."""

    # Prefixed by the projection's name when it differs from the table's, so two projections
    # offering the same read model (a baseline and its replacement) never share a table.
    def physical(table: str) -> str:
        stem = table if table == projection.name else f"{projection.name}__{table}"
        return f"{stem}__g{generation}"

    return Store(STORE_SCHEMA, {t.name: physical(t.name) for t in projection.tables})


def drop_tables(store: Store) -> list[sql.Composed]:
    return [sql.SQL("DROP TABLE IF EXISTS {}").format(store.table(n)) for n in store.tables]


def view_sql(projection: Projection, store: Store, replace: bool) -> list[sql.Composed]:
    """Statements pointing ``read.<table>`` at ``store`` (and granting it to readers)."""
    out: list[sql.Composed] = []
    verb = sql.SQL("CREATE OR REPLACE VIEW" if replace else "CREATE VIEW")
    for table in projection.tables:
        view = sql.Identifier("read", table.name)
        out.append(
            sql.SQL("{} {} AS SELECT {} FROM {}").format(
                verb,
                view,
                sql.SQL(", ").join(sql.Identifier(c) for c in table.public_columns),
                store.table(table.name),
            )
        )
        out.append(sql.SQL("GRANT SELECT ON {} TO learnstream_reader, learnstream_api"
                           ).format(view))
    return out


def derived_view_sql(projection: Projection, store: Store) -> list[sql.Composed]:
    """Statements (re)creating the projection's derived views over ``store``. A view may
    name its projection's stored table as ``{table}`` (to read internal columns); it is
    then repointed at each generation, like the table views. Dropped and created rather
    than replaced: a new version may change a view's columns (or a name that was a table
    view before)."""
    out: list[sql.Composed] = []
    for name, select in projection.derived_views:
        view = sql.Identifier("read", name)
        body = sql.SQL(select).format(table=store.table(projection.tables[0].name))
        out.append(sql.SQL("DROP VIEW IF EXISTS {}").format(view))
        out.append(sql.SQL("CREATE VIEW {} AS {}").format(view, body))
        out.append(sql.SQL("GRANT SELECT ON {} TO learnstream_reader, learnstream_api"
                           ).format(view))
    return out


def drop_view_sql(projection: Projection) -> list[sql.Composed]:
    return [
        sql.SQL("DROP VIEW IF EXISTS {} CASCADE").format(sql.Identifier("read", t.name))
        for t in projection.tables
    ]
