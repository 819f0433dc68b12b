"""The collector's PostgreSQL side: look write keys up, store dead letters.

A small synchronous pool used from worker threads: the statements are few and short, and
the dead-letter append is ingest's own ``append_batch`` (the same table, the same
idempotent statement), which is synchronous. Connections switch to the least-privilege
role (``settings.collector.db_role``): SELECT on the keys, INSERT on dead letters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from collector.keys import KeyCache, WriteKey, hash_key, write_key_of
from collector.queries import LOOKUP_KEY
from ingest.appender import DeadLetter, append_batch
from learnstream.db import libpq_url
from learnstream.errors import DatabaseUnavailable
from learnstream.settings import Settings


class Store:
    def __init__(self, settings: Settings) -> None:
        self._role = settings.collector.db_role
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            libpq_url(settings.resolved_database_url), min_size=1, max_size=4, open=False,
            configure=self._configure, timeout=3.0, reconnect_timeout=0,
        )
        self._cache = KeyCache(settings.collector.key_cache_seconds)

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        if self._role:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(self._role)))
        conn.commit()

    def open(self) -> None:
        # wait=False: the collector starts (and answers 503) while PostgreSQL is down.
        self._pool.open(wait=False)

    def close(self) -> None:
        self._pool.close()

    async def key(self, presented: str) -> WriteKey | None:
        """The write key ``presented`` is, or None for an unknown key."""
        digest = hash_key(presented)
        cached, key = self._cache.get(digest)
        if cached:
            return key
        key = await anyio.to_thread.run_sync(self._lookup, digest)
        self._cache.put(digest, key)
        return key

    def _lookup(self, digest: bytes) -> WriteKey | None:
        with _database_errors(), self._pool.connection() as conn:
            return write_key_of(conn.execute(LOOKUP_KEY, {"key_hash": digest}).fetchone())

    async def dead_letters(self, dead_letters: Sequence[DeadLetter]) -> None:
        await anyio.to_thread.run_sync(self._append, list(dead_letters))

    def _append(self, dead_letters: list[DeadLetter]) -> None:
        with _database_errors(), self._pool.connection() as conn:
            append_batch(conn, [], dead_letters)


@contextmanager
def _database_errors() -> Iterator[None]:
    """PostgreSQL down or the pool exhausted: DatabaseUnavailable (the request gets 503)."""
    try:
        yield
    except (PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise DatabaseUnavailable(str(exc).strip() or type(exc).__name__) from exc
