"""State API tokens against the real PostgreSQL: created, listed and revoked through the
command line, checked by the API on every request (401 without one, with a wrong one, with a
revoked one), stored only as their SHA-256, and readable by the API's role only as far as a
check needs."""

from __future__ import annotations

import hashlib

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from app.cli import app
from learner_model.errors import TokenError
from learner_model.projection import LearnerModelProjection
from learner_model.serving.service import create_app
from learner_model.serving.tokens import create_token, list_tokens, revoke_token
from learnstream.db import connect
from learnstream.settings import Settings
from projections.runner import project_until_caught_up

STATE = "/v1/learners/someone/state"


@pytest.fixture
def projected(db_settings: Settings) -> Settings:
    """A database whose learner-state read model exists (empty: every learner cold-starts)."""
    project_until_caught_up(db_settings, [LearnerModelProjection()])
    return db_settings


def _cli(settings: Settings, *args: str) -> Result:
    env = {"LEARNSTREAM_DATABASE_URL": settings.resolved_database_url,
           "LEARNSTREAM_KAFKA_BOOTSTRAP": settings.resolved_kafka_bootstrap}
    return CliRunner().invoke(app, list(args), env=env)


def test_a_token_from_the_cli_opens_the_api_until_it_is_revoked(projected: Settings) -> None:
    db_settings = projected
    created = _cli(db_settings, "tokens", "create", "--name", "recommender")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert len(token) >= 43 and "\n" not in token
    assert "shown only now" in created.stderr

    # Stored hashed: the digest is there, the token is nowhere in the table.
    with connect(db_settings) as conn:
        rows = conn.execute("SELECT name, token_sha256, revoked_at::text "
                            "FROM learner_model.api_tokens").fetchall()
    assert rows == [("recommender", hashlib.sha256(token.encode()).digest(), None)]
    assert token not in repr(rows)

    listed = _cli(db_settings, "tokens", "list")
    assert listed.exit_code == 0 and "recommender" in listed.stdout
    assert token not in listed.stdout

    # No cache: the revocation below is seen by the very next request.
    settings = db_settings.with_part(learner_model={"token_cache_seconds": 0.0})
    with TestClient(create_app(settings)) as http:
        good = {"Authorization": f"Bearer {token}"}
        assert http.get(STATE, headers=good).status_code == 200
        assert http.post("/v1/learners/states", json={"learner_ids": ["a", "b"]},
                         headers=good).status_code == 200
        missing = http.get(STATE)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = http.get(STATE, headers={"Authorization": f"Bearer {token[:-1]}x"})
        assert wrong.status_code == 401
        assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
        assert http.get("/healthz").status_code == 200

        revoked = _cli(db_settings, "tokens", "revoke", "recommender")
        assert revoked.exit_code == 0 and "revoked" in revoked.stdout, revoked.output
        refused = http.get(STATE, headers=good)
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]

    listed = _cli(db_settings, "tokens", "list")
    assert "recommender" in listed.stdout
    with connect(db_settings) as conn:
        (info,) = list_tokens(conn)
    assert info.revoked_at is not None


def test_a_cached_token_is_refused_once_the_cache_expires(projected: Settings) -> None:
    db_settings = projected
    # With the default cache a revoked token may pass for token_cache_seconds; a new app
    # (no cache yet) refuses it at once, which is what a restart does.
    with connect(db_settings) as conn:
        _, token = create_token(conn, "cached")
    header = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(db_settings)) as http:
        assert http.get(STATE, headers=header).status_code == 200
        with connect(db_settings) as conn:
            revoke_token(conn, "cached")
    with TestClient(create_app(db_settings)) as http:
        assert http.get(STATE, headers=header).status_code == 401


def test_revoke_by_id_names_taken_and_unknown_tokens(db_settings: Settings) -> None:
    with connect(db_settings) as conn:
        first, _ = create_token(conn, "one")
        with pytest.raises(TokenError, match="exists already"):
            create_token(conn, "one")
        with pytest.raises(TokenError, match="1 to 100 characters"):
            create_token(conn, "  ")
        assert revoke_token(conn, str(first.id)).name == "one"
        again = revoke_token(conn, "one")  # revoking twice keeps the first time
        assert again.revoked_at == revoke_token(conn, "one").revoked_at
    unknown = _cli(db_settings, "tokens", "revoke", "nobody")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("error: no token named 'nobody'"), unknown.output
    taken = _cli(db_settings, "tokens", "create", "--name", "one")
    assert taken.exit_code == 1 and "exists already" in taken.stderr


def test_the_api_role_reads_only_what_a_token_check_needs(db_settings: Settings) -> None:
    with connect(db_settings) as conn:
        create_token(conn, "private-name")
        conn.commit()
        conn.execute("SET ROLE learnstream_reader")
        n = conn.execute("SELECT count(*) FROM learner_model.api_tokens "
                         "WHERE revoked_at IS NULL").fetchone()
        assert n == (1,)
        for statement in (
            "SELECT name FROM learner_model.api_tokens",
            "SELECT created_at FROM learner_model.api_tokens",
            "SELECT * FROM learner_model.api_tokens",
            "UPDATE learner_model.api_tokens SET revoked_at = NULL",
            "DELETE FROM learner_model.api_tokens",
            "INSERT INTO learner_model.api_tokens (name, token_sha256) "
            "VALUES ('x', sha256('x'))",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)
