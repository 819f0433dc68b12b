"""Starting against nothing: wait a bounded time for Kafka and PostgreSQL, loudly.

Once ingest runs, an outage is waited out for as long as it lasts (nothing may be skipped;
see ``log_writer.py``). At start there is nothing to protect yet, and a command that sits
silent because its broker address is wrong helps no one: each service gets
``settings.ingest.startup_timeout_seconds``, every failed attempt is logged with the time
left, and then the command ends with the service's own error (one line, exit 1, from the
root command's error handler).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ingest.backoff import Backoff
from ingest.topics import ensure_topics
from learnstream.db import connect
from learnstream.errors import BrokerUnavailable, DatabaseUnavailable, TransientError
from learnstream.settings import Settings

log = logging.getLogger("learnstream.ingest")

#: Retry delays at start: short first (a service still starting), then every few seconds.
STARTUP_BACKOFF = Backoff(initial=0.5, maximum=5.0)


def wait_for_services(
    settings: Settings,
    *,
    partitions: int,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Create the topics (Kafka), then check PostgreSQL, each retried until it answers or
    the start-up bound passes; then raise :class:`BrokerUnavailable` /
    :class:`DatabaseUnavailable` saying how long it tried and the last error."""
    _until_up(settings, "Kafka", settings.resolved_kafka_bootstrap, BrokerUnavailable,
              lambda: ensure_topics(settings, partitions=partitions), sleep, clock)
    _until_up(settings, "PostgreSQL", _database_address(settings), DatabaseUnavailable,
              lambda: _check_database(settings), sleep, clock)


def _check_database(settings: Settings) -> None:
    with connect(settings) as conn:
        conn.execute("SELECT 1")


def _database_address(settings: Settings) -> str:
    from psycopg.conninfo import conninfo_to_dict

    from learnstream.db import libpq_url

    parts = conninfo_to_dict(libpq_url(settings.resolved_database_url))
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


def _until_up(
    settings: Settings,
    service: str,
    address: str,
    error: type[TransientError],
    attempt_once: Callable[[], object],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    bound = settings.ingest.startup_timeout_seconds
    started = clock()
    deadline = started + bound
    log.info(f"connecting to {service}", extra={"address": address, "gives_up_in_s": bound})
    for attempt, delay in enumerate(STARTUP_BACKOFF.delays(), start=1):
        try:
            attempt_once()
            if attempt > 1:
                log.info(f"{service} reachable", extra={"address": address,
                                                        "attempts": attempt})
            return
        except error as exc:
            last = str(exc).strip() or type(exc).__name__
            left = deadline - clock()
            if left <= 0:
                # An attempt may outlast the bound by up to one connect timeout.
                raise error(
                    f"{service} at {address} did not answer for {clock() - started:.0f} s "
                    f"({attempt} attempts; the bound is {bound:g} s, "
                    f"LEARNSTREAM_INGEST__STARTUP_TIMEOUT_SECONDS): {last}"
                ) from exc
            wait = min(delay, left)
            log.warning(f"{service} unreachable; retrying", extra={
                "address": address, "attempt": attempt, "retry_in_s": round(wait, 2),
                "gives_up_in_s": round(left, 1), "error": last.splitlines()[0]})
            sleep(wait)
    raise AssertionError("unreachable: backoff delays are infinite")
