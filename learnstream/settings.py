"""The one typed settings object, read from ``LEARNSTREAM_*`` environment variables.

Everything that can be configured is here, with a typed part per stage
(``settings.ingest``, ``settings.projections``, ``settings.learner_model``,
``settings.warehouse``, ``settings.devstack``). Code elsewhere receives a ``Settings`` instance
(tests build one directly) and never reads the environment itself.

The kernel owns the shape of every part, so that one object can be read from the environment
in one place without the kernel importing a stage. A part's variables are spelled with a
double underscore: ``LEARNSTREAM_INGEST__BATCH_MAX_RECORDS=500``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from learnstream.errors import ConfigurationError

#: The checkout (or installed tree) root: the folder holding ``pyproject.toml`` when run from
#: a checkout. Default paths hang from here, never from the working directory, so commands and
#: notebooks see the same stack and warehouse from any folder.
PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: Where `learnstream stack up` keeps jars, data and logs (ignored by git).
DEFAULT_STACK_DIR = PROJECT_ROOT / ".stack"

#: The public knowledge-tracing datasets sit in ``shared/datasets`` beside a checkout.
DEFAULT_DATASETS_DIR = PROJECT_ROOT.parent / "shared" / "datasets"

LOCAL_KAFKA_BOOTSTRAP = "localhost:9092"
LOCAL_PG_PORT = 55432
LOCAL_DATABASE_URL = f"postgresql://learnstream@127.0.0.1:{LOCAL_PG_PORT}/learnstream"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IngestSettings(_Part):
    """Kafka -> log: limits, batching, retries, the database role."""

    consumer_group: str = Field(
        default="learnstream-ingest",
        description="Prefix of the consumer groups, one per topic (`<group>.behavior`, ...).",
    )
    max_event_bytes: int = Field(
        default=64 * 1024, description="Messages larger than this are dead-lettered."
    )
    max_future_skew_seconds: int = Field(
        default=24 * 3600,
        description="`occurred_at` further than this in the future is dead-lettered.",
    )
    batch_max_records: int = Field(default=2000, description="Most messages per batch.")
    batch_timeout_ms: int = Field(default=200, description="Longest wait to fill a batch.")
    write_method: Literal["copy", "unnest"] = Field(
        default="copy",
        description="How a batch is appended: `copy` (COPY BINARY into a temporary staging "
        "table, then INSERT ... SELECT ... ON CONFLICT DO NOTHING; needs TEMP on the "
        "database) or `unnest` (one INSERT ... SELECT FROM unnest(arrays)).",
    )
    retry_max_seconds: float = Field(
        default=30.0,
        description="Cap of the exponential backoff while PostgreSQL or Kafka is unavailable.",
    )
    static_membership: bool = Field(
        default=True,
        description="Join the consumer groups as a static member (`group.instance.id`, "
        "KIP-345): a restarted worker gets its partitions back at once instead of after the "
        "dead member's session timeout.",
    )
    instance_id: str = Field(
        default="",
        description="This worker's stable `group.instance.id` (static membership); empty: "
        "the host name. Two live workers must never share one: give each its own.",
    )
    session_timeout_ms: int = Field(
        default=10_000,
        description="How long the group waits for a silent member before giving its "
        "partitions to the others (a static member that stopped for good).",
    )
    startup_timeout_seconds: float = Field(
        default=30.0,
        description="At start, how long Kafka and then PostgreSQL may stay unreachable "
        "(each retry logged) before ingest exits 1 with one line. Once running, an outage "
        "is waited out without limit.",
    )
    db_role: str = Field(
        default="learnstream_ingest",
        description="Role the ingest connection switches to (SET ROLE) for least privilege; "
        "empty: keep the login user's privileges.",
    )


class ProjectionSettings(_Part):
    """The projector: batch size and the fallback poll."""

    batch_size: int = Field(default=5000, description="Log rows a projection reads per batch.")
    poll_ms: int = Field(
        default=1000, description="Longest wait for new log rows when NOTIFY stays silent."
    )


class LearnerModelSettings(_Part):
    """The learner-state API and the model evaluation datasets."""

    serve_host: str = Field(default="127.0.0.1", description="State API listen address.")
    serve_port: int = Field(default=8088, description="State API port.")
    datasets_dir: Path = Field(
        default=DEFAULT_DATASETS_DIR,
        description="Folder holding kt/assistments09 and kt/statics (model evaluation).",
    )


class WarehouseSettings(_Part):
    """Where the Parquet tree, manifest and DuckDB catalog live."""

    dir: Path = Field(
        default=DEFAULT_STACK_DIR / "warehouse",
        description="Parquet tree, manifest and DuckDB file of the warehouse (ignored by git).",
    )


class DevstackSettings(_Part):
    """The local development stack (Kafka + PostgreSQL) started by `learnstream stack up`."""

    dir: Path = Field(default=DEFAULT_STACK_DIR, description="Local stack state folder.")


class Settings(BaseSettings):
    """Runtime configuration: the shared connections, then one typed part per stage."""

    model_config = SettingsConfigDict(
        env_prefix="LEARNSTREAM_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    kafka_bootstrap: str | None = Field(
        default=None,
        description="Kafka bootstrap servers. Unset: the local stack's broker (localhost:9092).",
    )
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (libpq form). Unset: the local stack's server.",
    )
    connect_timeout_seconds: int = Field(
        default=5,
        ge=2,
        description="Longest wait for one connection attempt to PostgreSQL (libpq "
        "`connect_timeout`, at least 2) or for Kafka's first answer.",
    )
    topic_namespace: str = Field(
        default="",
        description="Optional prefix for every topic (tests isolate runs with it). "
        "Empty in production: topics are exactly `learnstream.*`.",
    )

    ingest: IngestSettings = IngestSettings()
    projections: ProjectionSettings = ProjectionSettings()
    learner_model: LearnerModelSettings = LearnerModelSettings()
    warehouse: WarehouseSettings = WarehouseSettings()
    devstack: DevstackSettings = DevstackSettings()

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

    def with_part(self, **parts: object) -> Settings:
        """A copy with some fields of some parts replaced:
        ``settings.with_part(ingest={"batch_max_records": 10})``."""
        update: dict[str, object] = {}
        for name, changes in parts.items():
            current = getattr(self, name)
            if isinstance(current, BaseModel) and isinstance(changes, dict):
                update[name] = current.model_copy(update=changes)
            else:
                update[name] = changes
        return self.model_copy(update=update)


def load_settings() -> Settings:
    """Read settings from the environment (the only place that does); a variable that does
    not parse is a :class:`ConfigurationError` naming it."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"LEARNSTREAM_{'__'.join(str(p) for p in err['loc']).upper()}={err['input']!r}: "
            f"{err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise ConfigurationError(problems) from exc


def setting_variables() -> list[tuple[str, str, str]]:
    """Every environment variable ``Settings`` reads: (name, default, description), in
    declaration order; the operations docs' settings table is generated from this."""
    rows: list[tuple[str, str, str]] = []
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for part_name, part_field in annotation.model_fields.items():
                rows.append(
                    (
                        f"LEARNSTREAM_{name.upper()}__{part_name.upper()}",
                        _shown_default(part_field.default),
                        part_field.description or "",
                    )
                )
        else:
            rows.append(
                (f"LEARNSTREAM_{name.upper()}", _shown_default(field.default),
                 field.description or "")
            )
    return rows


def _shown_default(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, Path):
        try:
            return f"<checkout>/{value.relative_to(PROJECT_ROOT)}"
        except ValueError:
            return f"<checkout>/../{value.relative_to(PROJECT_ROOT.parent)}"
    return str(value) if value != "" else "empty"
