"""Shared fixtures. Unit tests need nothing; integration tests (under tests/integration,
marked ``integration`` automatically) get the real local stack, started once per test
session and reused when already up, a fresh migrated database per test, and a private Kafka
topic namespace per test."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from learnstream.db import MIGRATIONS_DIR, migrate
from learnstream.settings import Settings
from testing.databases import scratch_database, to_url, with_dbname

INTEGRATION_DIR = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def _migrations_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def stack_settings() -> Settings:
    """Settings for the running stack (started here if needed; left running afterwards)."""
    from devstack import ensure_stack

    settings = Settings()
    ensure_stack(settings)
    return settings


@pytest.fixture(scope="session")
def template_database(stack_settings: Settings) -> str:
    """A database migrated to head once per migrations fingerprint; tests clone it."""
    name = f"ls_template_{_migrations_fingerprint()}"
    admin = with_dbname(stack_settings.resolved_database_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        # Serialise concurrent test sessions that would build the same template.
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
        try:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                building = f"{name}_building"
                conn.execute(f'DROP DATABASE IF EXISTS "{building}"')
                conn.execute(f'CREATE DATABASE "{building}"')
                url = to_url(with_dbname(stack_settings.resolved_database_url, building))
                migrate(stack_settings.model_copy(update={"database_url": url}))
                conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))
    return name


@pytest.fixture
def db_settings(stack_settings: Settings, template_database: str) -> Iterator[Settings]:
    """Settings pointing at a fresh database at migration head, dropped after the test."""
    with scratch_database(stack_settings, template=template_database) as settings:
        yield settings


@pytest.fixture
def empty_db_settings(stack_settings: Settings) -> Iterator[Settings]:
    """Settings pointing at a fresh, empty database (no migrations applied)."""
    with scratch_database(stack_settings, prefix="ls_empty") as settings:
        yield settings


@pytest.fixture
def kafka_settings(db_settings: Settings) -> Settings:
    """``db_settings`` plus a private topic namespace and consumer group for this test."""
    tag = uuid.uuid4().hex[:10]
    return db_settings.with_part(
        topic_namespace=f"t{tag}.", ingest={"consumer_group": f"learnstream-test-{tag}"}
    )
