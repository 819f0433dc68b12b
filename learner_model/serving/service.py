"""``learnstream serve``: the read-only HTTP state API (FastAPI; OpenAPI at /docs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Response
from pydantic import BaseModel, Field

from learner_model.errors import StateUnavailable
from learner_model.serving.async_client import AsyncLearnerStateClient
from learner_model.serving.client import MAX_BATCH, LearnerId, LearnerStateResponse
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


class BatchRequest(BaseModel):
    learner_ids: list[LearnerId] = Field(min_length=1, max_length=MAX_BATCH)


class BatchResponse(BaseModel):
    states: list[LearnerStateResponse]


def _unavailable() -> HTTPException:
    return HTTPException(503, "learner state store unavailable",
                         headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def create_app(settings: Settings) -> FastAPI:
    """The app; its async connection pool opens at startup and closes at shutdown."""
    holder: dict[str, AsyncLearnerStateClient] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        client = AsyncLearnerStateClient(settings)
        await client.open()
        holder["client"] = client
        try:
            yield
        finally:
            await holder.pop("client").close()

    app = FastAPI(title="Learnstream learner state", version="1", lifespan=lifespan,
                  description="Read-only learner-model state for the recommender. Unknown "
                  "learners get the population prior with cold_start=true. A learner id has "
                  "1 to 255 characters and no control characters (else 422).")

    # Async handlers over the async pool: a read needs no thread-pool hop. They return JSON
    # serialised once by pydantic-core (the models were built from the row already), so
    # FastAPI skips re-validating and re-encoding; response_model keeps the OpenAPI schema.
    @app.get("/v1/learners/{learner_id}/state", response_model=LearnerStateResponse,
             summary="One learner's state", responses=UNAVAILABLE)
    async def get_state(learner_id: Annotated[LearnerId, Path()]) -> Response:
        try:
            state = await holder["client"].get(learner_id)
        except StateUnavailable as exc:
            raise _unavailable() from exc
        return Response(content=state.model_dump_json(), media_type=JSON)

    @app.post("/v1/learners/states", response_model=BatchResponse,
              summary="Many learners' states: one per requested id, in request order "
              "(a repeated id is answered again)", responses=UNAVAILABLE)
    async def get_states(body: BatchRequest) -> Response:
        try:
            states = await holder["client"].get_many(body.learner_ids)
        except StateUnavailable as exc:
            raise _unavailable() from exc
        batch = BatchResponse(states=states)
        return Response(content=batch.model_dump_json(), media_type=JSON)

    # Async: liveness needs no thread-pool hop.
    @app.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
