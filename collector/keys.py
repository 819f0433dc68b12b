"""Write keys: what a client app presents to post events.

A key is ``lsk_`` and 32 random bytes (URL-safe base64). Only its SHA-256 is stored: with
that much entropy a slow password hash buys nothing, and the lookup stays one indexed
equality per request (and is cached for ``key_cache_seconds``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from collector.errors import UnknownWriteKey
from collector.queries import CREATE_KEY, LIST_KEYS, REVOKE_KEYS
from learnstream.contracts import EVENT_TOPICS, Topic

KEY_PREFIX = "lsk_"
#: How many characters of a key are stored in clear to tell keys apart in listings.
SHOWN_CHARACTERS = 12
APP_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

#: Family name (``behavior``, ``catalog``, ...) -> its topic.
FAMILIES: dict[str, Topic] = {topic.value.removeprefix("learnstream."): topic
                              for topic in EVENT_TOPICS}


def family_of(topic: Topic) -> str:
    """The family name of an event topic: ``learnstream.catalog`` -> ``catalog``."""
    return topic.value.removeprefix("learnstream.")


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class WriteKey:
    """A key as the collector sees it. ``families`` None: every family."""

    id: int
    app: str
    families: frozenset[str] | None
    revoked: bool

    def allows(self, topic: Topic) -> bool:
        return self.families is None or family_of(topic) in self.families


@dataclass(frozen=True, slots=True)
class KeyListing:
    """One row of ``learnstream keys list``."""

    id: int
    app: str
    prefix: str
    families: tuple[str, ...] | None
    created_at: datetime
    revoked_at: datetime | None


def check_families(families: Sequence[str]) -> list[str] | None:
    """The families as stored (None: all); ValueError naming an unknown one."""
    if not families:
        return None
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown famil{'ies' if len(unknown) > 1 else 'y'} "
                         f"{', '.join(unknown)}; use {', '.join(FAMILIES)}")
    return sorted(set(families))


def create_key(
    conn: psycopg.Connection[Any], app: str, families: Sequence[str] = ()
) -> tuple[int, str]:
    """Store a new key for ``app``; return its id and the key (shown once, never stored)."""
    if not APP_PATTERN.match(app):
        raise ValueError(f"app name {app!r} must be 1-64 letters, digits, '.', '_' or '-'")
    allowed = check_families(families)
    key = new_key()
    row = conn.execute(
        CREATE_KEY,
        {"app": app, "key_hash": hash_key(key), "key_prefix": key[:SHOWN_CHARACTERS],
         "allowed_families": allowed},
    ).fetchone()
    assert row is not None
    return int(row[0]), key


def list_keys(conn: psycopg.Connection[Any], app: str | None = None) -> list[KeyListing]:
    rows = conn.execute(LIST_KEYS, {"app": app}).fetchall()
    return [KeyListing(r[0], r[1], r[2], None if r[3] is None else tuple(r[3]), r[4], r[5])
            for r in rows]


def revoke_keys(conn: psycopg.Connection[Any], app: str, key_id: int | None = None) -> list[int]:
    """Revoke ``app``'s active keys (or the one with ``key_id``); UnknownWriteKey if none."""
    ids = [int(r[0]) for r in conn.execute(REVOKE_KEYS, {"app": app, "id": key_id}).fetchall()]
    if not ids:
        which = f"key {key_id} of app {app!r}" if key_id is not None else f"app {app!r}"
        raise UnknownWriteKey(f"no active write key for {which}; `learnstream keys list` "
                              "shows the keys")
    return ids


class KeyCache:
    """Looks presented keys up by hash and remembers the answer (unknown keys too, so a
    client hammering a wrong key costs no query each time) for ``ttl`` seconds."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 10000) -> None:
        self._ttl = ttl
        self._clock = clock
        self._max = max_entries
        self._entries: dict[bytes, tuple[float, WriteKey | None]] = {}

    def get(self, key_hash: bytes) -> tuple[bool, WriteKey | None]:
        """(found in cache, the key or None for unknown)."""
        entry = self._entries.get(key_hash)
        if entry is None or entry[0] < self._clock():
            return False, None
        return True, entry[1]

    def put(self, key_hash: bytes, key: WriteKey | None) -> None:
        if len(self._entries) >= self._max:
            # Bounded: random keys from an attacker must not grow memory; dropping all is
            # crude but the cache refills from one indexed query per key.
            self._entries.clear()
        self._entries[key_hash] = (self._clock() + self._ttl, key)


def write_key_of(row: tuple[Any, ...] | None) -> WriteKey | None:
    """A LOOKUP_KEY row as a WriteKey (None: no such key)."""
    if row is None:
        return None
    families = None if row[2] is None else frozenset(row[2])
    return WriteKey(int(row[0]), str(row[1]), families, bool(row[3]))

