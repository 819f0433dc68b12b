"""Bearer tokens of the state API: created, listed and revoked by ``learnstream tokens``,
checked on every request by :class:`TokenCache`.

A token is ``secrets.token_urlsafe(32)`` (256 random bits), shown once when it is created;
the database keeps only its SHA-256 (``learner_model.api_tokens``, migration
``0012_api_tokens``). A fast hash is enough here, unlike for passwords: a slow hash (bcrypt,
scrypt, argon2) protects *guessable* secrets against a stolen table, and a 256-bit random
token cannot be guessed, so it would only add its cost to every request.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from learner_model.errors import TokenError
from learner_model.queries import (
    INSERT_TOKEN,
    LIST_TOKENS,
    REVOKE_TOKEN_BY_ID,
    REVOKE_TOKEN_BY_NAME,
)

#: Random bytes per token (token_urlsafe gives 43 characters for 32 bytes).
TOKEN_BYTES = 32
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class TokenInfo:
    """A stored token as ``learnstream tokens list`` shows it (never the token itself)."""

    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None


def token_digest(token: str) -> bytes:
    """The SHA-256 of ``token``: what the database stores and the API looks up."""
    return hashlib.sha256(token.encode()).digest()


def create_token(conn: psycopg.Connection[Any], name: str) -> tuple[TokenInfo, str]:
    """Store a new token called ``name``; returns its row and the token (to show once).
    :class:`TokenError` when the name is empty, too long or taken."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise TokenError(f"a token name has 1 to {MAX_NAME_LENGTH} characters")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    try:
        with conn.transaction():
            row = conn.execute(INSERT_TOKEN, (name, token_digest(token))).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise TokenError(f"a token named {name!r} exists already (revoked names stay "
                         "taken): pick another name; `learnstream tokens list` shows them") from exc
    assert row is not None
    return TokenInfo(*row), token


def list_tokens(conn: psycopg.Connection[Any]) -> list[TokenInfo]:
    """Every token, oldest first, revoked ones included."""
    return [TokenInfo(*row) for row in conn.execute(LIST_TOKENS).fetchall()]


def revoke_token(conn: psycopg.Connection[Any], name_or_id: str) -> TokenInfo:
    """Revoke the token with that name (or, for digits that name none, that id); revoking
    twice keeps the first time. :class:`TokenError` when no token matches."""
    with conn.transaction():
        row = conn.execute(REVOKE_TOKEN_BY_NAME, (name_or_id,)).fetchone()
        if row is None and name_or_id.isdigit():
            row = conn.execute(REVOKE_TOKEN_BY_ID, (int(name_or_id),)).fetchone()
    if row is None:
        raise TokenError(f"no token named {name_or_id!r}; `learnstream tokens list` shows "
                         "the names and ids")
    return TokenInfo(*row)


class TokenCache:
    """Remembers, for ``ttl`` seconds, the digests the store said are valid, so a client
    sending the same token again costs no database round trip. A revoked token is therefore
    refused at most ``ttl`` seconds after ``learnstream tokens revoke``. Unknown tokens are
    not remembered (a flood of wrong tokens cannot fill the memory); each costs one lookup.
    ``ttl`` 0 looks every request up."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._clock = clock
        self._max = max_entries
        self._valid_until: dict[bytes, float] = {}

    async def is_valid(self, token: str,
                       lookup: Callable[[bytes], Awaitable[bool]]) -> bool:
        """Whether ``token`` is a stored, unrevoked token; ``lookup`` asks the store for a
        digest (it may raise, e.g. ``StateUnavailable``)."""
        digest = token_digest(token)
        now = self._clock()
        until = self._valid_until.get(digest)
        if until is not None and now < until:
            return True
        self._valid_until.pop(digest, None)
        valid = await lookup(digest)
        if valid and self._ttl > 0:
            if len(self._valid_until) >= self._max:
                self._valid_until.clear()
            self._valid_until[digest] = now + self._ttl
        return valid
