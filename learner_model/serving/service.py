"""``learnstream serve``: the read-only HTTP state API (FastAPI; OpenAPI at /docs, its Swagger
UI and ReDoc pages served from the installed ``fastapi-offline`` package, not a CDN, so they
work on a machine without internet).

Every state endpoint needs ``Authorization: Bearer <token>`` (a token from ``learnstream
tokens create``); without one, or with a malformed header, it answers 401 with
``WWW-Authenticate: Bearer``, and with an unknown or revoked token 401 with
``error="invalid_token"``. ``/healthz`` and the documentation pages (``/docs``, ``/redoc``,
``/openapi.json`` and their static files) stay open: they carry no learner data."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Path, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field

from learner_model.errors import StateUnavailable
from learner_model.serving.async_client import AsyncLearnerStateClient
from learner_model.serving.client import MAX_BATCH, LearnerId, LearnerStateResponse
from learner_model.serving.tokens import TokenCache
from learnstream.settings import Settings

JSON = "application/json"
#: Seconds a client should wait before retrying a 503; the pool itself retries connecting
#: in the background, so a short wait is enough once the database is back.
RETRY_AFTER_SECONDS = 5

#: The 503 the handlers raise, for the OpenAPI document (FastAPI lists the 422 of its own
#: validation, with the id rule in each parameter's schema).
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "The learner state store is unavailable; retry after Retry-After "
          "seconds.",
          "headers": {"Retry-After": {"description": "Seconds to wait before retrying.",
                                      "schema": {"type": "integer"}}}},
}

#: The 401 of a missing, malformed, unknown or revoked token, for the OpenAPI document.
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid bearer token: the Authorization header is missing or not "
          "`Bearer <token>`, or the token is unknown or revoked.",
          "headers": {"WWW-Authenticate": {"description": "`Bearer`, with "
                                           "`error=\"invalid_token\"` for a token that is "
                                           "unknown or revoked.",
                                           "schema": {"type": "string"}}}},
}

#: The bearer scheme in the OpenAPI document; auto_error=False so that the 401 (and its
#: WWW-Authenticate header) is ours for every kind of missing or malformed header.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="A token from `learnstream tokens create`.")


class BatchRequest(BaseModel):
    learner_ids: list[LearnerId] = Field(min_length=1, max_length=MAX_BATCH)


class BatchResponse(BaseModel):
    states: list[LearnerStateResponse]


#: uvicorn's error logger: its handler is the one configured for the server's own lines.
_log = logging.getLogger("uvicorn.error")


def _unavailable(cause: StateUnavailable) -> HTTPException:
    # The client gets a generic 503; the operator gets why (e.g. "run `learnstream migrate`").
    _log.warning("503: learner state store unavailable: %s", cause)
    return HTTPException(503, "learner state store unavailable",
                         headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _refused(challenge: str, detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})


def create_app(settings: Settings, *, require_token: bool = True) -> FastAPI:
    """The app; its async connection pool opens at startup and closes at shutdown.
    ``require_token=False`` serves without authentication (the benchmark's baseline only;
    ``learnstream serve`` always requires a token)."""
    holder: dict[str, AsyncLearnerStateClient] = {}
    tokens = TokenCache(settings.learner_model.token_cache_seconds)

    async def authorized(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> None:
        if not require_token:
            return
        if credentials is None or not credentials.credentials.strip():
            raise _refused('Bearer realm="learnstream"',
                           "an Authorization: Bearer <token> header is required")
        try:
            valid = await tokens.is_valid(credentials.credentials,
                                          holder["client"].token_is_active)
        except StateUnavailable as exc:
            raise _unavailable(exc) from exc
        if not valid:
            raise _refused('Bearer realm="learnstream", error="invalid_token"',
                           "the bearer token is unknown or revoked")

    guarded: dict[str, Any] = {"dependencies": [Depends(authorized)],
                               "responses": {**UNAUTHORIZED, **UNAVAILABLE}}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        client = AsyncLearnerStateClient(settings)
        await client.open()
        holder["client"] = client
        try:
            yield
        finally:
            await holder.pop("client").close()

    app = FastAPIOffline(title="Learnstream learner state", version="1", lifespan=lifespan,
                  description="Read-only learner-model state for the recommender. Unknown "
                  "learners get the population prior with cold_start=true. A learner id has "
                  "1 to 255 characters and no control characters (else 422). Every endpoint but "
                  "/healthz needs `Authorization: Bearer <token>` (`learnstream tokens "
                  "create`), else 401.")

    # Async handlers over the async pool: a read needs no thread-pool hop. They return JSON
    # serialised once by pydantic-core (the models were built from the row already), so
    # FastAPI skips re-validating and re-encoding; response_model keeps the OpenAPI schema.
    @app.get("/v1/learners/{learner_id}/state", response_model=LearnerStateResponse,
             summary="One learner's state", **guarded)
    async def get_state(learner_id: Annotated[LearnerId, Path()]) -> Response:
        try:
            state = await holder["client"].get(learner_id)
        except StateUnavailable as exc:
            raise _unavailable(exc) from exc
        return Response(content=state.model_dump_json(), media_type=JSON)

    @app.post("/v1/learners/states", response_model=BatchResponse,
              summary="Many learners' states: one per requested id, in request order "
              "(a repeated id is answered again)", **guarded)
    async def get_states(body: BatchRequest) -> Response:
        try:
            states = await holder["client"].get_many(body.learner_ids)
        except StateUnavailable as exc:
            raise _unavailable(exc) from exc
        batch = BatchResponse(states=states)
        return Response(content=batch.model_dump_json(), media_type=JSON)

    # Async: liveness needs no thread-pool hop. Open: it says nothing but "ok".
    @app.get("/healthz", summary="Liveness (no token needed)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


#: uvicorn's own lines (startup banners) are left out; errors stay. The access log, when on,
#: is one line per request on stdout with the time, the client, the request and the status.
def _log_config(access_log: bool) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "default": {"()": "uvicorn.logging.DefaultFormatter",
                        "fmt": "%(levelprefix)s %(message)s"},
            "access": {"()": "uvicorn.logging.AccessFormatter", "use_colors": False,
                       "fmt": '%(asctime)s %(client_addr)s "%(request_line)s" %(status_code)s'},
        },
        "handlers": {
            "default": {"formatter": "default", "class": "logging.StreamHandler",
                        "stream": "ext://sys.stderr"},
            "access": {"formatter": "access", "class": "logging.StreamHandler",
                       "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "WARNING", "propagate": False},
            "uvicorn.error": {"level": "WARNING"},
            "uvicorn.access": {"handlers": ["access"], "propagate": False,
                               "level": "INFO" if access_log else "WARNING"},
        },
    }


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free one). Bound here rather than by
    uvicorn, which logs a failure and exits: a taken port or a bad address is an ``OSError``
    the CLI turns into its one line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn's server, saying where it listens once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            self._on_listening()


def run(settings: Settings, sock: socket.socket, on_listening: Callable[[str], None], *,
        require_token: bool = True) -> None:
    """Serve on ``sock`` until interrupted; ``on_listening`` gets the URL once the app has
    started and the socket accepts connections. ``require_token`` as in :func:`create_app`
    (``learnstream serve`` never turns it off)."""
    config = uvicorn.Config(create_app(settings, require_token=require_token),
                            log_config=_log_config(
        settings.learner_model.access_log), access_log=settings.learner_model.access_log)
    _Server(config, lambda: on_listening(url_of(sock))).run(sockets=[sock])
