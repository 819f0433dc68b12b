"""``AsyncLearnerStateClient``: the asyncio twin of ``LearnerStateClient`` for the HTTP API.

Same SQL, same read-only role, same cold-start behaviour; it runs on psycopg's
``AsyncConnectionPool`` so an async route handler reads state without a thread-pool hop.
Python callers keep using the sync :class:`~learner_model.serving.client.LearnerStateClient`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from learner_model.errors import StateUnavailable
from learner_model.model.state import ModelParams, params_from_json
from learner_model.queries import (
    CURRENT_PARAMS,
    CURRENT_VERSION,
    READ_CHECKPOINT,
    READ_STATES,
    TOKEN_IS_ACTIVE,
)
from learner_model.serving.client import (
    PRIOR_TTL_SECONDS,
    READER_ROLE,
    LearnerStateResponse,
    distinct_ids,
    prior_response,
    response_from_row,
)
from learnstream.db import libpq_url
from learnstream.settings import Settings

_SET_ROLE = sql.SQL("SET ROLE {}").format(sql.Identifier(READER_ROLE))


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    await conn.set_autocommit(True)
    await conn.execute(_SET_ROLE)


class AsyncLearnerStateClient:
    """Typed, pooled, read-only async access to learner state; ``await open()`` before use
    (or use ``async with``)."""

    def __init__(self, settings: Settings, *, min_size: int = 1, max_size: int = 4,
                 timeout: float = 30.0) -> None:
        # timeout: seconds a read waits for a pooled connection before StateUnavailable.
        # open=False: an async pool must be opened inside the running event loop.
        self._pool = AsyncConnectionPool(libpq_url(settings.resolved_database_url),
                                         min_size=min_size, max_size=max_size,
                                         configure=_configure, timeout=timeout,
                                         open=False)
        self._prior: tuple[float, ModelParams] | None = None
        self._params_by_version: dict[str, ModelParams] = {}

    async def open(self) -> None:
        # Like the sync client: do not wait for connections, so the app starts even while the
        # database is down (reads then answer StateUnavailable).
        await self._pool.open(wait=False)

    async def close(self) -> None:
        await self._pool.close()

    async def __aenter__(self) -> AsyncLearnerStateClient:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def get(self, learner_id: str) -> LearnerStateResponse:
        return (await self.get_many([learner_id]))[0]

    async def get_many(self, learner_ids: Sequence[str]) -> list[LearnerStateResponse]:
        """One state per requested id, in request order (a repeated id gets its state
        again; unknown ids cold-start). Each distinct id is read once, at most
        :data:`~learner_model.serving.client.MAX_BATCH` distinct ids per call; ``ValueError``
        beyond, or for an id that breaks the
        :data:`~learner_model.serving.client.LearnerId` rule."""
        ids = distinct_ids(learner_ids)
        try:
            async with self._pool.connection() as conn:
                cur = await conn.execute(READ_STATES, (ids,))
                found = {r[0]: response_from_row(r) for r in await cur.fetchall()}
                missing = [i for i in ids if i not in found]
                if missing:
                    params = await self._params(conn)
                    cp = await (await conn.execute(READ_CHECKPOINT)).fetchone()
                    as_of = None if cp is None else int(cp[0])
                    for i in missing:
                        found[i] = prior_response(i, params, as_of)
        except psycopg.OperationalError as exc:
            raise StateUnavailable(str(exc)) from exc
        except psycopg.errors.UndefinedTable as exc:  # a database never migrated
            raise StateUnavailable(f"{exc.diag.message_primary}: run `learnstream migrate`"
                                   ) from exc
        return [found[i] for i in learner_ids]

    async def token_is_active(self, digest: bytes) -> bool:
        """Whether a state API token with this SHA-256 is stored and not revoked
        (:mod:`learner_model.serving.tokens`); :class:`StateUnavailable` when the store
        cannot be read."""
        try:
            async with self._pool.connection() as conn:
                row = await (await conn.execute(TOKEN_IS_ACTIVE, (digest,))).fetchone()
        except psycopg.OperationalError as exc:
            raise StateUnavailable(str(exc)) from exc
        except psycopg.errors.UndefinedTable as exc:  # a database never migrated
            raise StateUnavailable(f"{exc.diag.message_primary}: run `learnstream migrate`"
                                   ) from exc
        return bool(row and row[0])

    async def _params(self, conn: psycopg.AsyncConnection[Any]) -> ModelParams:
        now = time.monotonic()
        if self._prior is None or now - self._prior[0] > PRIOR_TTL_SECONDS:
            self._prior = (now, await self._load_current_params(conn))
        return self._prior[1]

    async def _load_current_params(self, conn: psycopg.AsyncConnection[Any]) -> ModelParams:
        # Mirrors store.load_current_params: read the version, parse the JSON only on change.
        row = await (await conn.execute(CURRENT_VERSION)).fetchone()
        if row is None:
            return ModelParams.prior()
        cached = self._params_by_version.get(row[0])
        if cached is None:
            full = await (await conn.execute(CURRENT_PARAMS)).fetchone()
            if full is None:  # replaced between the two reads: take the prior for this batch
                return ModelParams.prior()
            cached = params_from_json(full[1])
            self._params_by_version = {full[0]: cached}
        return cached
