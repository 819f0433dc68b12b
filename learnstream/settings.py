"""The one typed settings object, read from ``LEARNSTREAM_*`` environment variables.

Everything that can be configured is here, with a typed part per stage
(``settings.ingest``, ``settings.collector``, ``settings.projections``,
``settings.learner_model``, ``settings.warehouse``, ``settings.devstack``). Code elsewhere
receives a ``Settings`` instance (tests build one directly) and never reads the environment
itself.

The kernel owns the shape of every part, so that one object can be read from the environment
in one place without the kernel importing a stage. A part's variables are spelled with a
double underscore: ``LEARNSTREAM_INGEST__BATCH_MAX_RECORDS=500``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

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
    workers: int = Field(
        default=1, ge=1,
        description="Consumer processes one `learnstream ingest` runs (`--workers` "
        "overrides), each a member of the consumer groups; beyond a topic's partition "
        "count, workers stand by.",
    )
    batch_max_records: int = Field(default=2000, description="Most messages per batch.")
    batch_timeout_ms: int = Field(default=200, description="Longest wait to fill a batch.")
    pipeline_chunk_records: int = Field(
        default=1000, ge=0,
        description="A batch is decoded and written in chunks of this many messages, so "
        "that decoding a chunk overlaps the database's work on the previous one (a "
        "transaction per chunk; offsets committed after the last); 0: the batch at once.",
    )
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


class CollectorSettings(_Part):
    """The HTTP collector: where it listens, what it accepts, what it keeps."""

    host: str = Field(default="127.0.0.1", description="Collector listen address.")
    port: int = Field(default=8090, description="Collector port.")
    max_body_bytes: int = Field(
        default=1024 * 1024,
        description="Largest request body, after gzip is undone; larger bodies get 413 "
        "before they are read whole.",
    )
    max_batch_events: int = Field(default=500, description="Most events in one request.")
    body_timeout_seconds: float = Field(
        default=10.0, description="A body that has not arrived whole by then gets 408."
    )
    produce_timeout_seconds: float = Field(
        default=10.0,
        description="Longest wait for Kafka to acknowledge a request's events; then 503.",
    )
    linger_ms: int = Field(
        default=1,
        description="How long the producer waits to fill a batch to Kafka. Every request "
        "waits for its acknowledgement, so this adds to its latency; at 0, librdkafka's "
        "sender wakes for every request, which cost more CPU than the millisecond (see "
        "docs/sending-events.md).",
    )
    max_in_flight_events: int = Field(
        default=20000,
        description="Events waiting for Kafka's acknowledgement, all requests together; "
        "beyond it requests get 503 (bounded memory).",
    )
    retry_after_seconds: int = Field(
        default=5, description="`Retry-After` sent with 503 and 429."
    )
    rate_limit_per_second: float = Field(
        default=200.0, description="Requests per second per write key (token bucket); 0: off."
    )
    rate_limit_burst: int = Field(
        default=400, description="Requests a write key may send at once before 429."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to post (JSON list); empty: no CORS headers.",
    )
    keep_ip: bool = Field(
        default=False, description="Store the client IP in `context.collector.ip`."
    )
    keep_user_agent: bool = Field(
        default=False,
        description="Store the User-Agent in `context.collector.user_agent`.",
    )
    key_cache_seconds: float = Field(
        default=10.0,
        description="How long a write key looked up in PostgreSQL is trusted (a revoke "
        "takes effect within this).",
    )
    db_role: str = Field(
        default="learnstream_collector",
        description="Role the collector's connections switch to (SET ROLE): read keys, "
        "insert dead letters; empty: keep the login user's privileges.",
    )


class ProjectionSettings(_Part):
    """The projector: batch size and the fallback poll."""

    batch_size: int = Field(default=5000, description="Log rows a projection reads per batch.")
    poll_ms: int = Field(
        default=1000, description="Longest wait for new log rows when NOTIFY stays silent."
    )


class LearnerModelSettings(_Part):
    """The learner-state API and the model evaluation datasets."""

    serve_host: str = Field(
        default="127.0.0.1",
        description="State API listen address (loopback: only this machine can connect; "
        "0.0.0.0 in a container).",
    )
    serve_port: int = Field(default=8088, description="State API port (0: any free port).")
    access_log: bool = Field(
        default=True, description="Log one line per request of the state API on stdout."
    )
    token_cache_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long the state API trusts a bearer token it has verified before "
        "asking the database again: a revoked token is refused at most this long after "
        "`learnstream tokens revoke`. 0: look every request up.",
    )
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


class RetentionPolicy(_Part):
    """Rows of one log table (optionally only some event types) older than ``days``."""

    table: str = Field(description="A log table, e.g. behavioral_events.")
    days: int = Field(ge=1, description="Rows whose occurred_at is older than this go.")
    event_types: list[str] | None = Field(
        default=None, description="Only these event types (default: every type)."
    )


class PrivacySettings(_Part):
    """Erasure and retention (`learnstream learner erase`, `learnstream retention apply`)."""

    eraser_role: str = Field(
        default="learnstream_eraser",
        description="Role erasure and retention switch to (SET ROLE): it may read the log "
        "and call the audited delete functions, nothing else; empty: the login user's.",
    )
    pii: Literal["keep", "hash", "drop"] = Field(
        default="keep",
        description="What ingest stores of the free-text fields the contracts mark as PII "
        "(`x-pii` in the JSON Schemas): `keep`, `hash` (sha256) or `drop`.",
    )
    retention: list[RetentionPolicy] = Field(
        default_factory=list,
        description='Retention policies, JSON: `[{"table": "behavioral_events", "days": '
        '400, "event_types": ["playback.heartbeat"]}]`. Empty: keep everything.',
    )


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
    database_password_file: Path | None = Field(
        default=None,
        description="File holding the PostgreSQL password (a Docker secret, e.g. "
        "/run/secrets/ingest_db_password); used when LEARNSTREAM_DATABASE_URL carries none. "
        "libpq's PGPASSWORD works too.",
    )
    session_gap_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="Inactivity that ends a session (read.sessions, the warehouse's session "
        "lengths). A change takes effect at the projector's next start, no rebuild.",
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
    collector: CollectorSettings = CollectorSettings()
    projections: ProjectionSettings = ProjectionSettings()
    learner_model: LearnerModelSettings = LearnerModelSettings()
    warehouse: WarehouseSettings = WarehouseSettings()
    devstack: DevstackSettings = DevstackSettings()
    privacy: PrivacySettings = PrivacySettings()

    @property
    def uses_local_stack(self) -> bool:
        """True unless both Kafka and PostgreSQL point elsewhere."""
        return self.kafka_bootstrap is None or self.database_url is None

    # Plain properties, not cached_property: a cached value lives in the instance __dict__,
    # which model_copy() copies, so a copy with another database_url would still resolve
    # to the original database (tests cloned settings this way and hit the shared DB).
    @property
    def session_gap(self) -> timedelta:
        """:attr:`session_gap_minutes` as the session rule takes it
        (:func:`learnstream.log.sessionized_sql`)."""
        return timedelta(minutes=self.session_gap_minutes)

    @property
    def resolved_kafka_bootstrap(self) -> str:
        return self.kafka_bootstrap or LOCAL_KAFKA_BOOTSTRAP

    @property
    def resolved_database_url(self) -> str:
        """The database URL, with the password of :attr:`database_password_file` (read at
        each call, so a rotated secret is picked up by the next connection) when the URL has
        none."""
        url = self.database_url or LOCAL_DATABASE_URL
        if self.database_password_file is None:
            return url
        return with_password(url, read_secret(self.database_password_file))

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


def read_secret(path: Path) -> str:
    """A secret file's content without its trailing newline; :class:`ConfigurationError`
    when it cannot be read or is empty."""
    try:
        secret = path.read_text().rstrip("\r\n")
    except OSError as exc:
        raise ConfigurationError(f"cannot read the secret file {path}: {exc.strerror}") from exc
    if not secret:
        raise ConfigurationError(f"the secret file {path} is empty")
    return secret


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` (URL-encoded) when it names none; unchanged otherwise."""
    parts = urlsplit(url)
    if parts.password is not None or "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    netloc = f"{userinfo}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


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
                        _shown_default(part_field.get_default(call_default_factory=True)),
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
