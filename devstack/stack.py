"""The local stack as a whole: start what is needed, report, stop, reset.

Components whose settings point elsewhere (``LEARNSTREAM_KAFKA_BOOTSTRAP``,
``LEARNSTREAM_DATABASE_URL``) are external: reported, never started or stopped.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from devstack import kafka as _kafka
from devstack import postgres as _postgres
from devstack.kafka_config import KafkaLayout
from devstack.postgres_config import PostgresLayout
from devstack.status import ComponentStatus, StackStatus
from learnstream.settings import Settings


def ensure_stack(
    settings: Settings,
    *,
    kafka: bool = True,
    postgres: bool = True,
    console: Console | None = None,
) -> StackStatus:
    """Start the local components that are needed and not running; return once they answer.

    ``kafka=False`` / ``postgres=False`` leave that component as it is (a caller that only
    needs the database does not wait for a broker); it is still reported. External
    components are never started. Idempotent and safe to call from several processes at
    once (test workers, the demo). Progress goes to ``console`` (default: stderr).
    """
    console = console or Console(stderr=True)
    with _stack_lock(settings.devstack.dir):
        postgres_status = (
            _postgres.start(PostgresLayout.for_stack(settings.devstack.dir), console)
            if postgres and settings.database_url is None
            else _postgres_status(settings)
        )
        kafka_status = (
            _kafka.start(KafkaLayout.for_stack(settings.devstack.dir), console)
            if kafka and settings.kafka_bootstrap is None
            else _kafka_status(settings)
        )
    return StackStatus(kafka=kafka_status, postgres=postgres_status)


def stack_status(settings: Settings) -> StackStatus:
    """What runs now; starts and waits for nothing."""
    return StackStatus(kafka=_kafka_status(settings), postgres=_postgres_status(settings))


def _kafka_status(settings: Settings) -> ComponentStatus:
    if settings.kafka_bootstrap is not None:
        return _kafka.external_status(settings.kafka_bootstrap)
    return _kafka.status(KafkaLayout.for_stack(settings.devstack.dir))


def _postgres_status(settings: Settings) -> ComponentStatus:
    if settings.database_url is not None:
        return _postgres.external_status(settings.database_url)
    return _postgres.status(PostgresLayout.for_stack(settings.devstack.dir))


def stack_down(settings: Settings) -> StackStatus:
    """Stop the local components this stack started; external ones are left alone."""
    with _stack_lock(settings.devstack.dir):
        if settings.kafka_bootstrap is None:
            _kafka.stop(KafkaLayout.for_stack(settings.devstack.dir))
        if settings.database_url is None:
            _postgres.stop(PostgresLayout.for_stack(settings.devstack.dir))
    return stack_status(settings)


def stack_reset(settings: Settings) -> StackStatus:
    """`stack_down`, then delete local data and logs (downloaded Kafka jars are kept)."""
    with _stack_lock(settings.devstack.dir):
        if settings.kafka_bootstrap is None:
            _kafka.reset(KafkaLayout.for_stack(settings.devstack.dir))
        if settings.database_url is None:
            _postgres.reset(PostgresLayout.for_stack(settings.devstack.dir))
    return stack_status(settings)


@contextmanager
def _stack_lock(stack_dir: Path) -> Iterator[None]:
    # Test workers and a demo may call ensure_stack at the same moment. Without one lock
    # around "is it running? no -> start it", both would launch a broker; the second dies on
    # the taken port and the caller sees a spurious failure. flock is released by the kernel
    # if the holder dies, so a crashed `stack up` never leaves the stack locked.
    stack_dir.mkdir(parents=True, exist_ok=True)
    with (stack_dir / "stack.lock").open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
