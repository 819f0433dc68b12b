"""The one typed settings object, read from ``LEARNSTREAM_*`` environment variables.

Everything that can be configured is here; code elsewhere receives a ``Settings`` instance
(tests build one directly) and never reads the environment itself.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Where `learnstream stack up` keeps jars, data and logs (ignored by git).
DEFAULT_STACK_DIR = Path.cwd() / ".stack"

#: The public knowledge-tracing datasets sit in ``shared/datasets`` beside a checkout.
DEFAULT_DATASETS_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"

LOCAL_KAFKA_BOOTSTRAP = "localhost:9092"
LOCAL_PG_PORT = 55432
LOCAL_DATABASE_URL = f"postgresql://learnstream@127.0.0.1:{LOCAL_PG_PORT}/learnstream"


class Settings(BaseSettings):
    """Runtime configuration for every stage."""

    model_config = SettingsConfigDict(env_prefix="LEARNSTREAM_", extra="ignore", frozen=True)

    kafka_bootstrap: str | None = Field(
        default=None,
        description="Kafka bootstrap servers. Unset: the local stack's broker (localhost:9092).",
    )
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (libpq form). Unset: the local stack's server.",
    )
    stack_dir: Path = Field(default=DEFAULT_STACK_DIR, description="Local stack state folder.")
    datasets_dir: Path = Field(
        default=DEFAULT_DATASETS_DIR,
        description="Folder holding kt/assistments09 and kt/statics (model evaluation).",
    )
    topic_namespace: str = Field(
        default="",
        description="Optional prefix for every topic (tests isolate runs with it). "
        "Empty in production: topics are exactly `learnstream.*`.",
    )
    consumer_group: str = Field(default="learnstream-ingest")

    # Ingest limits and batching
    max_event_bytes: int = Field(
        default=64 * 1024, description="Messages larger than this are dead-lettered."
    )
    max_future_skew_seconds: int = Field(
        default=24 * 3600,
        description="`occurred_at` further than this in the future is dead-lettered.",
    )
    batch_max_records: int = Field(default=2000)
    batch_timeout_ms: int = Field(default=200)
    ingest_retry_max_seconds: float = Field(
        default=30.0,
        description="Cap of the exponential backoff while PostgreSQL or Kafka is unavailable.",
    )
    ingest_db_role: str = Field(
        default="learnstream_ingest",
        description="Role the ingest connection switches to (SET ROLE) for least privilege; "
        "empty: keep the login user's privileges.",
    )

    # Warehouse
    warehouse_dir: Path = Field(
        default=DEFAULT_STACK_DIR / "warehouse",
        description="Parquet tree, manifest and DuckDB file of the warehouse (ignored by git).",
    )

    # Projections
    projection_batch_size: int = Field(
        default=5000, description="Log rows a projection reads per transaction."
    )
    projection_poll_ms: int = Field(
        default=1000, description="Longest wait for new log rows when NOTIFY stays silent."
    )

    # Serving
    serve_host: str = "127.0.0.1"
    serve_port: int = 8088

    @property
    def uses_local_stack(self) -> bool:
        """True unless both Kafka and PostgreSQL point elsewhere."""
        return self.kafka_bootstrap is None or self.database_url is None

    # Plain properties, not cached_property: a cached value lives in the instance __dict__,
    # which model_copy() copies, so a copy with another database_url would still resolve
    # to the original database (tests cloned settings this way and hit the shared DB).
    @property
    def resolved_kafka_bootstrap(self) -> str:
        return self.kafka_bootstrap or LOCAL_KAFKA_BOOTSTRAP

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or LOCAL_DATABASE_URL

    def topic(self, name: str) -> str:
        """The physical topic for a logical name such as ``learnstream.behavior``."""
        return f"{self.topic_namespace}{name}"


def load_settings() -> Settings:
    """Read settings from the environment (the only place that does)."""
    return Settings()
