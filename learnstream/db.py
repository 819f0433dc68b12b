"""Connections and migrations. One place turns settings into a database connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy.exc
from alembic import command
from alembic.config import Config
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from learnstream.errors import ConfigurationError, DatabaseUnavailable
from learnstream.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def sqlalchemy_url(libpq_url: str) -> str:
    """SQLAlchemy spelling of a libpq URL, using the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if libpq_url.startswith(prefix):
            return "postgresql+psycopg://" + libpq_url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {libpq_url!r}")


def libpq_url(url: str) -> str:
    """libpq spelling of a URL that may carry a SQLAlchemy driver suffix."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def connect(
    settings: Settings, *, autocommit: bool = False
) -> psycopg.Connection[tuple[Any, ...]]:
    """A new connection to the configured database, or :class:`DatabaseUnavailable`.

    An attempt gives up after ``settings.connect_timeout_seconds`` (libpq's
    ``connect_timeout``; one given in the URL wins): without it, a server that drops
    packets blocks the caller for the operating system's TCP timeout, minutes, in silence.
    """
    url = libpq_url(settings.resolved_database_url)
    if "connect_timeout" not in conninfo_to_dict(url):
        url = make_conninfo(url, connect_timeout=settings.connect_timeout_seconds)
    try:
        return psycopg.connect(url, autocommit=autocommit)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(str(exc).strip()) from exc


def set_role(conn: psycopg.Connection[Any], role: str, setting: str) -> None:
    """Least privilege: switch ``conn`` to the group role ``role`` (nothing when empty) and
    commit. :class:`ConfigurationError` naming ``setting`` when the login user may not."""
    if not role:
        return
    try:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        conn.commit()
    # Not a member: InsufficientPrivilege; no such role: InvalidParameterValue (a DataError).
    except (psycopg.ProgrammingError, psycopg.DataError) as exc:
        conn.close()
        raise ConfigurationError(
            f"cannot SET ROLE {role}: {str(exc).strip()}. Grant the role to the login user "
            f"or set {setting}='' to run without it."
        ) from exc


def alembic_config(settings: Settings) -> Config:
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    # '%' is alembic's interpolation character; URLs may contain it (encoded passwords).
    config.set_main_option(
        "sqlalchemy.url", sqlalchemy_url(settings.resolved_database_url).replace("%", "%%")
    )
    return config


def migrate(settings: Settings, revision: str = "head") -> None:
    """Upgrade the database schema to ``revision``, or :class:`DatabaseUnavailable`."""
    with _alembic_connection_errors():
        command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str) -> None:
    """Downgrade the database schema to ``revision`` (``base`` removes everything), or
    :class:`DatabaseUnavailable`."""
    with _alembic_connection_errors():
        command.downgrade(alembic_config(settings), revision)


@contextmanager
def _alembic_connection_errors() -> Iterator[None]:
    # Alembic connects through SQLAlchemy, which wraps psycopg's OperationalError in its
    # own; callers should see the same DatabaseUnavailable as from connect().
    try:
        yield
    except sqlalchemy.exc.OperationalError as exc:
        raise DatabaseUnavailable(str(exc.orig).strip()) from exc


def current_revision(settings: Settings) -> str | None:
    """The revision the database is at, or None before the first migration."""
    with connect(settings) as conn:
        exists = conn.execute("SELECT to_regclass('public.alembic_version')").fetchone()
        if exists is None or exists[0] is None:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return None if row is None else str(row[0])
