"""A state API token for tests that call the API: created through the Python API, as
`learnstream tokens create` does."""

from __future__ import annotations

import uuid

from learner_model.serving.tokens import create_token
from learnstream.db import connect
from learnstream.settings import Settings


def bearer(settings: Settings, name: str | None = None) -> dict[str, str]:
    """The Authorization header of a new token in ``settings``' database."""
    with connect(settings) as conn:
        _, token = create_token(conn, name or f"test-{uuid.uuid4().hex[:8]}")
    return {"Authorization": f"Bearer {token}"}
