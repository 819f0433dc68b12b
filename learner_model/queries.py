"""Named SQL of the learner-model stage (DDL lives in migration 0004 and the projection)."""

from __future__ import annotations

from typing import LiteralString

CURRENT_PARAMS: LiteralString = """
    SELECT version, params FROM learner_model.model_versions WHERE is_current
"""

CURRENT_VERSION: LiteralString = """
    SELECT version FROM learner_model.model_versions WHERE is_current
"""

CLEAR_CURRENT: LiteralString = """
    UPDATE learner_model.model_versions SET is_current = false WHERE is_current
"""

INSERT_VERSION: LiteralString = """
    INSERT INTO learner_model.model_versions
        (version, trained_upto, training_rows, params, metrics, is_current)
    VALUES (%s, %s, %s, %s, %s, true)
    ON CONFLICT (version) DO UPDATE SET is_current = true, metrics = EXCLUDED.metrics
"""

#: One or many learners' state rows plus the projection checkpoint, in one round trip.
READ_STATES: LiteralString = """
    SELECT s.learner_id, s.comprehension_level, s.comprehension_low, s.comprehension_high,
           s.ability_logit, s.ability_sd, s.preference_weights, s.content_type_preferences,
           s.difficulty_adjustment, s.data_points, s.outcomes, s.cold_start, s.model_version,
           s.last_event_at, s.last_position,
           (SELECT position FROM projections.checkpoints WHERE name = 'learner_model')
    FROM read.learner_model_state s
    WHERE s.learner_id = ANY(%s)
"""

READ_CHECKPOINT: LiteralString = """
    SELECT position FROM projections.checkpoints WHERE name = 'learner_model'
"""

SELECT_MODEL_STATES: LiteralString = """
    SELECT learner_id, model_state FROM {table} WHERE learner_id = ANY(%s)
"""

UPSERT_STATE_COLUMNS: tuple[str, ...] = (
    "learner_id", "comprehension_level", "comprehension_low", "comprehension_high",
    "ability_logit", "ability_sd", "preference_weights", "content_type_preferences",
    "difficulty_adjustment", "data_points", "outcomes", "cold_start", "model_version",
    "last_event_at", "last_position", "model_state",
)

# ---- identity (anonymous session -> learner) for the learner-model projection ----

#: The stored identities of some sessions (``{table}``: this generation's identities table).
SELECT_IDENTITIES: LiteralString = """
    SELECT session_id, learner_id, identified_at, event_id FROM {table}
    WHERE session_id = ANY(%s)
"""

#: Every session identified as one of some learners.
SESSIONS_OF_LEARNERS: LiteralString = """
    SELECT session_id, learner_id FROM {table} WHERE learner_id = ANY(%s)
"""

UPSERT_IDENTITY: LiteralString = """
    INSERT INTO {table} (session_id, learner_id, identified_at, event_id)
    VALUES (%s, %s, %s, %s)
    ON CONFLICT (session_id) DO UPDATE SET learner_id = EXCLUDED.learner_id,
        identified_at = EXCLUDED.identified_at, event_id = EXCLUDED.event_id
"""

DELETE_MODEL_STATES: LiteralString = """
    DELETE FROM {table} WHERE learner_id = ANY(%s)
"""


# ---- state API bearer tokens (migration 0012_api_tokens) ----

INSERT_TOKEN: LiteralString = """
    INSERT INTO learner_model.api_tokens (name, token_sha256) VALUES (%s, %s)
    RETURNING id, name, created_at, revoked_at
"""

LIST_TOKENS: LiteralString = """
    SELECT id, name, created_at, revoked_at FROM learner_model.api_tokens ORDER BY id
"""

REVOKE_TOKEN_BY_NAME: LiteralString = """
    UPDATE learner_model.api_tokens SET revoked_at = coalesce(revoked_at, now())
    WHERE name = %s RETURNING id, name, created_at, revoked_at
"""

REVOKE_TOKEN_BY_ID: LiteralString = """
    UPDATE learner_model.api_tokens SET revoked_at = coalesce(revoked_at, now())
    WHERE id = %s RETURNING id, name, created_at, revoked_at
"""

#: What the API's role may read of a token: whether its digest is stored and unrevoked
#: (it has SELECT on ``token_sha256`` and ``revoked_at`` only).
TOKEN_IS_ACTIVE: LiteralString = """
    SELECT EXISTS (SELECT FROM learner_model.api_tokens
                   WHERE token_sha256 = %s AND revoked_at IS NULL)
"""
