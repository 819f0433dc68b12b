"""The collector's HTTP service: ``POST /v1/events``, ``/healthz``, ``/readyz``, ``/metrics``.

A plain Starlette application (chosen over FastAPI by measurement, see
docs/sending-events.md): the endpoint reads its body itself, chunk by chunk, so there is
nothing for a validation layer to do, and the framework's cost is paid per request.

The order of the checks is the order of their cost: the key (cached), the rate limit, the
headers, then the body (bounded in size and time), then each event. A 2xx is sent only
after Kafka acknowledged every accepted event and the rejected ones are stored as dead
letters; Kafka or PostgreSQL unavailable, or too many events waiting: 503 with
``Retry-After``. Retrying a whole batch is always safe: ``event_id`` is the idempotency key
down to the log, and a dead letter's source key is its bytes' hash.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from collector.batch import Client, examine
from collector.body import check_content_type, check_encoding, parse_body, read_body
from collector.errors import CollectorOverloaded, RequestRejected
from collector.keys import WriteKey
from collector.metrics import Metrics
from collector.producer import Producer
from collector.ratelimit import RateLimiter
from collector.store import Store
from learnstream.errors import BrokerUnavailable, DatabaseUnavailable
from learnstream.settings import Settings

log = logging.getLogger("learnstream.collector")


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers=headers)


class Collector:
    """The service's state: producer, store, limiter, metrics (one per process)."""

    def __init__(self, settings: Settings, *, producer: Producer | None = None,
                 store: Store | None = None) -> None:
        self.settings = settings
        self.part = settings.collector
        self.producer = producer or Producer(settings)
        self.store = store or Store(settings)
        self.limiter = RateLimiter(self.part.rate_limit_per_second, self.part.rate_limit_burst)
        self.metrics = Metrics()

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.store.open()
        await self.producer.start()
        # What startup built (modules, the contracts' validators: some 130,000 objects)
        # lives as long as the process; frozen, a full collection no longer walks it. It
        # took 140 ms on this machine, every request in flight waiting behind it: the p99
        # at half the maximum rate (see docs/sending-events.md).
        gc.freeze()
        try:
            yield
        finally:
            await self.producer.stop()
            self.store.close()

    def _retry_later(self, code: str, detail: str) -> Response:
        self.metrics.request(code, 503)
        return _json(503, {"error": code, "detail": detail},
                     {"Retry-After": str(self.part.retry_after_seconds)})

    async def _authenticate(self, request: Request) -> WriteKey:
        header = request.headers.get("authorization", "")
        presented = header[7:].strip() if header[:7].lower() == "bearer " else ""
        # sendBeacon cannot set headers: the key may come as ?key=... instead.
        presented = presented or request.query_params.get("key", "")
        if not presented:
            raise RequestRejected(401, "missing_key", "send a write key as `Authorization: "
                                  "Bearer KEY` or `?key=KEY`")
        key = await self.store.key(presented)
        if key is None:
            raise RequestRejected(401, "unknown_key", "this write key does not exist")
        if key.revoked:
            raise RequestRejected(403, "revoked_key", f"this write key of app {key.app!r} "
                                  "was revoked; ask for a new one")
        return key

    async def post_events(self, request: Request) -> Response:
        received_at = datetime.now(UTC)
        part = self.part
        try:
            key = await self._authenticate(request)
            if not self.limiter.allow(key.id):
                self.metrics.request("rate_limited", 429)
                return _json(429, {"error": "rate_limited", "detail":
                                   f"more than {part.rate_limit_per_second:g} requests/s "
                                   "for this key"},
                             {"Retry-After": str(part.retry_after_seconds)})
            kind = check_content_type(request.headers.get("content-type"))
            gzipped = check_encoding(request.headers.get("content-encoding"))
            body = await read_body(
                request.stream(), content_length=_content_length(request), gzipped=gzipped,
                limit=part.max_body_bytes, timeout=part.body_timeout_seconds,
            )
            parsed = parse_body(body, kind, max_events=part.max_batch_events,
                                sent_at=request.query_params.get("sent_at"))
        except RequestRejected as exc:
            self.metrics.request(exc.code, exc.status)
            return _json(exc.status, {"error": exc.code, "detail": exc.detail})
        except ClientDisconnect:
            self.metrics.request("client_disconnected", 400)
            return _json(400, {"error": "client_disconnected", "detail": "the body was cut"})
        except DatabaseUnavailable as exc:
            return self._retry_later("database_unavailable", f"write keys cannot be read: {exc}")
        del body
        client = Client(request.client.host if request.client else None,
                        request.headers.get("user-agent"))
        examined = examine(parsed, key, self.settings, received_at=received_at, client=client)
        try:
            if examined.dead_letters:
                await self.store.dead_letters(examined.dead_letters)
            records = examined.records + examined.dead_letter_records(self.settings)
            if records:
                self.metrics.produced(await self.producer.produce(records))
        except DatabaseUnavailable as exc:
            return self._retry_later("database_unavailable",
                                     f"rejected events cannot be stored: {exc}")
        except CollectorOverloaded as exc:
            return self._retry_later("overloaded", str(exc))
        except BrokerUnavailable as exc:
            return self._retry_later("kafka_unavailable", str(exc))
        self.metrics.event("accepted", count=examined.accepted)
        self.metrics.event("forbidden", count=examined.forbidden)
        for result in examined.results:
            if result["status"] == "rejected":
                self.metrics.event("rejected", result["reason"])
        everything_forbidden = examined.forbidden == len(examined.results)
        status = 403 if everything_forbidden else 200
        self.metrics.request("forbidden_family" if everything_forbidden else "ok", status)
        return _json(status, {
            "received_at": received_at.isoformat(),
            "accepted": examined.accepted,
            "rejected": examined.rejected,
            "forbidden": examined.forbidden,
            "results": examined.results,
        })

    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(self, request: Request) -> Response:
        if await self.producer.ready():
            return PlainTextResponse("ready\n")
        detail = self.producer.last_start_error or "no broker answers"
        return PlainTextResponse(f"Kafka is not reachable: {detail}\n", status_code=503)

    async def metrics_text(self, request: Request) -> Response:
        return PlainTextResponse(self.metrics.render(self.producer.in_flight),
                                 media_type="text/plain; version=0.0.4")


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise RequestRejected(400, "bad_content_length", f"Content-Length {value!r}") from None


def create_app(settings: Settings, *, collector: Collector | None = None) -> Starlette:
    """The ASGI application (``collector`` given: tests hand in fakes for Kafka and
    PostgreSQL)."""
    state = collector or Collector(settings)
    middleware = []
    if settings.collector.cors_origins:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(settings.collector.cors_origins),
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", "Content-Encoding"],
            max_age=600,
        ))
    app = Starlette(
        routes=[
            Route("/v1/events", state.post_events, methods=["POST"]),
            Route("/healthz", state.healthz, methods=["GET"]),
            Route("/readyz", state.readyz, methods=["GET"]),
            Route("/metrics", state.metrics_text, methods=["GET"]),
        ],
        middleware=middleware,
        lifespan=state.lifespan,
    )
    app.state.collector = state
    return app
