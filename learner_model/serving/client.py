"""``LearnerStateClient``: what the recommender imports to read learner state.

Reads ``read.learner_model_state`` through a small connection pool whose connections run as
the read-only role (``SET ROLE learnstream_api``: the read models, not the log), one round
trip per call. A learner the model has never seen gets the population-prior state flagged
``cold_start`` (not an error).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import psycopg
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, Field, StringConstraints

from learner_model.errors import StateUnavailable
from learner_model.model.state import LearnerState, ModelParams, view
from learner_model.queries import READ_CHECKPOINT, READ_STATES
from learner_model.store import load_current_params
from learnstream.contracts import IDENTIFIER_PATTERN, MAX_IDENTIFIER_LENGTH
from learnstream.db import libpq_url
from learnstream.settings import Settings

#: The state API's role (migration 0013): the read models, checkpoints, model versions and
#: token digests; nothing of the log.
READER_ROLE = "learnstream_api"
#: How long the cached population prior (for unknown learners) is trusted before re-reading
#: the current model version.
PRIOR_TTL_SECONDS = 10.0
MAX_BATCH = 1000

#: A learner id as events carry it: the contract's identifier length (1 to
#: ``MAX_IDENTIFIER_LENGTH`` characters), without control characters (U+0000-U+001F,
#: U+007F-U+009F). PostgreSQL text cannot hold U+0000 at all, so such an id would fail in
#: the driver instead of reading as an unknown learner; no real id contains the others.
LEARNER_ID_PATTERN = IDENTIFIER_PATTERN  # the contracts' rule: what is sent can be read
LearnerId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_IDENTIFIER_LENGTH, pattern=LEARNER_ID_PATTERN),
]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class LearnerStateResponse(BaseModel):
    """A learner's state as the recommender sees it."""

    learner_id: str
    comprehension_level: float = Field(description="Expected success on a typical next item.")
    comprehension_low: float = Field(description="Lower end of a 95% interval.")
    comprehension_high: float = Field(description="Upper end of a 95% interval.")
    ability_logit: float
    ability_sd: float = Field(description="Uncertainty (sd, logits) of the learner's ability.")
    preference_weights: dict[str, float] = Field(
        description="Weight in [-1, 1] per content characteristic (format:, genre:, topic:, "
        "difficulty:, level:), shrunk toward the population.")
    content_type_preferences: dict[str, float]
    difficulty_adjustment: float = Field(
        description="Logits harder (+) or easier (-) than typical that keep expected success "
        "in the 70-85% band.")
    data_points: int
    outcomes: int = Field(description="Graded answers seen.")
    cold_start: bool
    model_version: str
    as_of: int | None = Field(description="Log position the learner-state projection reflects.")
    last_event_at: datetime | None = None


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.autocommit = True
    conn.execute(f"SET ROLE {READER_ROLE}")


class LearnerStateClient:
    """Typed, pooled, read-only access to learner state."""

    def __init__(self, settings: Settings, *, min_size: int = 1, max_size: int = 4) -> None:
        self._pool = ConnectionPool(libpq_url(settings.resolved_database_url),
                                    min_size=min_size, max_size=max_size,
                                    configure=_configure, open=True)
        self._prior: tuple[float, ModelParams] | None = None

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> LearnerStateClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, learner_id: str) -> LearnerStateResponse:
        return self.get_many([learner_id])[0]

    def get_many(self, learner_ids: Sequence[str]) -> list[LearnerStateResponse]:
        """One state per requested id, in request order (a repeated id gets its state
        again; unknown ids cold-start). Each distinct id is read once, at most
        :data:`MAX_BATCH` distinct ids per call; ``ValueError`` beyond, or for an id that
        breaks the :data:`LearnerId` rule."""
        ids = distinct_ids(learner_ids)
        try:
            with self._pool.connection() as conn:
                rows = conn.execute(READ_STATES, (ids,)).fetchall()
                found = {r[0]: response_from_row(r) for r in rows}
                missing = [i for i in ids if i not in found]
                if missing:
                    params = self._params(conn)
                    cp = conn.execute(READ_CHECKPOINT).fetchone()
                    as_of = None if cp is None else int(cp[0])
                    for i in missing:
                        found[i] = prior_response(i, params, as_of)
        except psycopg.OperationalError as exc:
            raise StateUnavailable(str(exc)) from exc
        except psycopg.errors.UndefinedTable as exc:  # a database never migrated
            raise StateUnavailable(f"{exc.diag.message_primary}: run `learnstream migrate`"
                                   ) from exc
        return [found[i] for i in learner_ids]

    def _params(self, conn: psycopg.Connection[Any]) -> ModelParams:
        now = time.monotonic()
        if self._prior is None or now - self._prior[0] > PRIOR_TTL_SECONDS:
            self._prior = (now, load_current_params(conn))
        return self._prior[1]


def learner_id_problem(learner_id: str) -> str | None:
    """Why ``learner_id`` is not a valid learner id (the :data:`LearnerId` rule), or None."""
    if not 1 <= len(learner_id) <= MAX_IDENTIFIER_LENGTH:
        return (f"a learner id has 1 to {MAX_IDENTIFIER_LENGTH} characters, "
                f"this one {len(learner_id)}")
    if (bad := _CONTROL.search(learner_id)) is not None:
        return f"a learner id has no control characters, this one U+{ord(bad.group()):04X}"
    return None


def distinct_ids(learner_ids: Sequence[str]) -> list[str]:
    """The ids to query: each once, at most :data:`MAX_BATCH` of them, each a valid
    :data:`LearnerId` (``ValueError`` otherwise; shared by the sync and async clients)."""
    ids = list(dict.fromkeys(learner_ids))
    for learner_id in ids:
        if (problem := learner_id_problem(learner_id)) is not None:
            raise ValueError(f"{learner_id[:40]!r}: {problem}")
    if len(ids) > MAX_BATCH:
        # Truncating would leave requested ids without a state; the caller must split.
        raise ValueError(f"{len(ids)} distinct learner ids; at most {MAX_BATCH} per call")
    return ids


def prior_response(learner_id: str, params: ModelParams, as_of: int | None) -> LearnerStateResponse:
    """The population-prior state of a learner with no events."""
    v = view(LearnerState.new(learner_id), params)
    return LearnerStateResponse(
        learner_id=learner_id, comprehension_level=v.comprehension_level,
        comprehension_low=v.comprehension_low, comprehension_high=v.comprehension_high,
        ability_logit=v.ability_logit, ability_sd=v.ability_sd,
        preference_weights=v.preference_weights,
        content_type_preferences=v.content_type_preferences,
        difficulty_adjustment=v.difficulty_adjustment, data_points=0, outcomes=0,
        cold_start=True, model_version=v.model_version, as_of=as_of, last_event_at=None)


def response_from_row(r: tuple[Any, ...]) -> LearnerStateResponse:
    """The response for one ``READ_STATES`` row (shared by the sync and async clients)."""
    return LearnerStateResponse(
        learner_id=r[0], comprehension_level=r[1], comprehension_low=r[2],
        comprehension_high=r[3], ability_logit=r[4], ability_sd=r[5], preference_weights=r[6],
        content_type_preferences=r[7], difficulty_adjustment=r[8], data_points=r[9],
        outcomes=r[10], cold_start=r[11], model_version=r[12], last_event_at=r[13],
        as_of=None if r[15] is None else int(r[15]))
