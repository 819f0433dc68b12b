"""``learnstream serve``: the read-only HTTP state API (FastAPI; OpenAPI at /docs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, Field

from learner_model.errors import StateUnavailable
from learner_model.serving.async_client import AsyncLearnerStateClient
from learner_model.serving.client import MAX_BATCH, LearnerStateResponse
from learnstream.settings import Settings

JSON = "application/json"


class BatchRequest(BaseModel):
    learner_ids: list[str] = Field(min_length=1, max_length=MAX_BATCH)


class BatchResponse(BaseModel):
    states: list[LearnerStateResponse]


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
                  "learners get the population prior with cold_start=true.")

    # Async handlers over the async pool: a read needs no thread-pool hop. They return JSON
    # serialised once by pydantic-core (the models were built from the row already), so
    # FastAPI skips re-validating and re-encoding; response_model keeps the OpenAPI schema.
    @app.get("/v1/learners/{learner_id}/state", response_model=LearnerStateResponse,
             summary="One learner's state")
    async def get_state(learner_id: str) -> Response:
        try:
            state = await holder["client"].get(learner_id)
        except StateUnavailable as exc:
            raise HTTPException(503, "learner state store unavailable") from exc
        return Response(content=state.model_dump_json(), media_type=JSON)

    @app.post("/v1/learners/states", response_model=BatchResponse,
              summary="Many learners' states: one per requested id, in request order "
              "(a repeated id is answered again)")
    async def get_states(body: BatchRequest) -> Response:
        try:
            states = await holder["client"].get_many(body.learner_ids)
        except StateUnavailable as exc:
            raise HTTPException(503, "learner state store unavailable") from exc
        batch = BatchResponse(states=states)
        return Response(content=batch.model_dump_json(), media_type=JSON)

    # Async: liveness needs no thread-pool hop.
    @app.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
