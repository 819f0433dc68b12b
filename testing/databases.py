"""Scratch databases on the test stack's PostgreSQL: created (optionally from a migrated
template), handed out as Settings, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from learnstream.db import libpq_url
from learnstream.settings import Settings


def with_dbname(url: str, dbname: str) -> str:
    """The libpq conninfo of ``url`` pointing at database ``dbname``."""
    return make_conninfo(libpq_url(url), dbname=dbname)


def to_url(conninfo: str) -> str:
    """A ``postgresql://`` URL for a libpq conninfo string."""
    parts = conninfo_to_dict(conninfo)
    user = parts.get("user", "")
    password = f":{parts['password']}" if parts.get("password") else ""
    auth = f"{user}{password}@" if user else ""
    host = parts.get("host", "localhost")
    return f"postgresql://{auth}{host}:{parts.get('port', 5432)}/{parts['dbname']}"


@contextmanager
def scratch_database(
    settings: Settings, *, template: str | None = None, prefix: str = "ls_test"
) -> Iterator[Settings]:
    """``settings`` pointing at a new database (a copy of ``template`` if given)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = with_dbname(settings.resolved_database_url, "postgres")
    clause = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{clause}')
    url = to_url(with_dbname(settings.resolved_database_url, name))
    try:
        yield settings.model_copy(update={"database_url": url})
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
