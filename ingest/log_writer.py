"""Writes decoded batches to the log, waiting out database outages.

One :class:`LogWriter` per subscriber owns one connection. A batch is written in one
transaction (events and dead letters together); if PostgreSQL is unavailable the SAME
batch is retried with capped exponential backoff, reconnecting each time, until it lands
or a shutdown is requested. Nothing is ever skipped.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg

from ingest.appender import AppendResult, DeadLetter, append_batch
from ingest.backoff import Backoff
from ingest.batch import DecodedBatch
from ingest.errors import IngestInterrupted
from ingest.suppression import Suppressions
from learnstream.db import connect, set_role
from learnstream.errors import DatabaseUnavailable, RejectionReason
from learnstream.settings import Settings

log = logging.getLogger("learnstream.ingest")

#: Errors after which the same batch is retried: the server or connection failed, not the
#: data. psycopg raises OperationalError for refused/dropped connections, admin shutdown,
#: "database does not allow connections", serialization failures and deadlocks;
#: InterfaceError when the connection object is already closed.
RETRYABLE = (psycopg.OperationalError, psycopg.InterfaceError, DatabaseUnavailable)

#: Errors caused by one row's values (a limit the contract does not state): the batch is
#: re-run row by row and the offending rows become UNSTORABLE dead letters.
ROW_REFUSED = (psycopg.DataError, psycopg.IntegrityError)


class LogWriter:
    """Appends batches to the log through one (re)connecting connection."""

    def __init__(
        self, settings: Settings, *, backoff: Backoff | None = None,
        stopping: threading.Event | None = None,
    ) -> None:
        self._settings = settings
        self._backoff = backoff or Backoff(maximum=settings.ingest.retry_max_seconds)
        self._stopping = stopping or threading.Event()
        self._conn: psycopg.Connection[Any] | None = None
        self._suppressions = Suppressions()

    def write(self, batch: DecodedBatch) -> AppendResult:
        """Commit ``batch`` to the log; block (retrying) while the database is unavailable.

        Raises :class:`IngestInterrupted` if a shutdown is requested while waiting.
        """
        for attempt, delay in enumerate(self._backoff.delays(), start=1):
            try:
                return self._append(self._connection(), batch)
            except RETRYABLE as exc:
                self._discard()
                log.warning(
                    "database unavailable; retrying the same batch",
                    extra={"attempt": attempt, "retry_in_s": delay, "error": str(exc).strip()},
                )
            if self._stopping.wait(delay):
                raise IngestInterrupted("shutdown while waiting for the database")
        raise AssertionError("unreachable: backoff delays are infinite")

    def close(self) -> None:
        self._discard()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            conn = connect(self._settings)
            # Least privilege: INSERT on the log, nothing else (migration 0002).
            set_role(conn, self._settings.ingest.db_role, "LEARNSTREAM_INGEST__DB_ROLE")
            self._conn = conn
        return self._conn

    def _discard(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def _append(self, conn: psycopg.Connection[Any], batch: DecodedBatch) -> AppendResult:
        try:
            return append_batch(conn, batch.events(), batch.dead_letters, self._suppressions,
                                self._settings.privacy.pii,
                                method=self._settings.ingest.write_method)
        except ROW_REFUSED:
            log.warning("a row was refused by the database; writing the batch row by row")
            return self._append_row_by_row(conn, batch)

    def _append_row_by_row(
        self, conn: psycopg.Connection[Any], batch: DecodedBatch
    ) -> AppendResult:
        """Same transaction semantics, one savepoint per event; refused rows dead-lettered."""
        result = AppendResult()
        refused: list[DeadLetter] = []
        with conn.transaction():
            for accepted in batch.accepted:
                try:
                    # append_batch opens a nested transaction: a savepoint in psycopg.
                    # unnest: no staging table whose rows would outlive the savepoint.
                    result += append_batch(conn, [(accepted.event, accepted.source)],
                                           suppressions=self._suppressions,
                                           pii=self._settings.privacy.pii, method="unnest")
                except ROW_REFUSED as exc:
                    refused.append(
                        DeadLetter(
                            RejectionReason.UNSTORABLE,
                            str(exc).strip().splitlines()[0],
                            accepted.raw,
                            accepted.key,
                            accepted.source,
                            str(accepted.event.event_id),
                            accepted.event.event_type,
                        )
                    )
            result += append_batch(conn, [], [*batch.dead_letters, *refused])
        return result
