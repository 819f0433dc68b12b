"""``learnstream serve``: the read-only HTTP state API (FastAPI; OpenAPI at /docs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from learner_model.client import MAX_BATCH, LearnerStateClient, LearnerStateResponse
from learner_model.errors import StateUnavailable
from learnstream.settings import Settings


class BatchRequest(BaseModel):
    learner_ids: list[str] = Field(min_length=1, max_length=MAX_BATCH)


class BatchResponse(BaseModel):
    states: list[LearnerStateResponse]


def create_app(settings: Settings) -> FastAPI:
    """The app; its connection pool opens at startup and closes at shutdown."""
    holder: dict[str, LearnerStateClient] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        holder["client"] = LearnerStateClient(settings)
        try:
            yield
        finally:
            holder.pop("client").close()

    app = FastAPI(title="Learnstream learner state", version="1", lifespan=lifespan,
                  description="Read-only learner-model state for the recommender. Unknown "
                  "learners get the population prior with cold_start=true.")

    # Sync handlers: FastAPI runs them in its thread pool, matching the sync psycopg pool.
    @app.get("/v1/learners/{learner_id}/state", response_model=LearnerStateResponse,
             summary="One learner's state")
    def get_state(learner_id: str) -> LearnerStateResponse:
        try:
            return holder["client"].get(learner_id)
        except StateUnavailable as exc:
            raise HTTPException(503, "learner state store unavailable") from exc

    @app.post("/v1/learners/states", response_model=BatchResponse,
              summary="Many learners' states (order of the request)")
    def get_states(body: BatchRequest) -> BatchResponse:
        try:
            found = holder["client"].get_many(body.learner_ids)
        except StateUnavailable as exc:
            raise HTTPException(503, "learner state store unavailable") from exc
        return BatchResponse(states=[found[i] for i in dict.fromkeys(body.learner_ids)])

    # Async: liveness needs no thread-pool hop.
    @app.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
