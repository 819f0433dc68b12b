"""How rows travel from PostgreSQL into Arrow. Three ways, one contract: ``fetch(sql, params)``
returns an Arrow table with ``WIRE_SCHEMA``'s columns.

DuckDB's ``postgres`` extension would be the obvious choice, but it is downloaded at run time
and cannot be fetched here. ``bench/warehouse.py`` measures the three below on the same
rows: ADBC is the fastest, COPY-as-CSV the fastest that needs no extra package, so
``auto`` (the default) picks ADBC when its driver is installed and COPY-as-CSV otherwise
(figures in the README, "Warehouse").
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, Literal, Protocol

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from learnstream.db import libpq_url
from learnstream.settings import Settings
from warehouse.errors import TransportUnavailable
from warehouse.queries import EXPORT_SESSION_SETUP

TransportName = Literal["auto", "copy_csv", "adbc", "polars"]
TRANSPORTS: tuple[TransportName, ...] = ("auto", "copy_csv", "adbc", "polars")


class Transport(Protocol):
    """Runs one SELECT and returns its rows as Arrow, typed as ``schema``."""

    name: str

    def fetch(self, sql: str, params: Mapping[str, Any], schema: pa.Schema) -> pa.Table: ...

    def close(self) -> None: ...


def _render(conn: psycopg.Connection[Any], sql: str, params: Mapping[str, Any]) -> str:
    # Client-side binding with psycopg's own quoting: values never get spliced by hand.
    return psycopg.ClientCursor(conn).mogrify(sql, params)


class CopyCsvTransport:
    """``COPY (SELECT ...) TO STDOUT (FORMAT csv)`` through psycopg, parsed by Arrow's
    multi-threaded CSV reader. Binary COPY would need a per-value Python decoder; CSV lets
    Arrow's C++ parser do the work."""

    name = "copy_csv"

    def __init__(self, settings: Settings) -> None:
        self._conn = psycopg.connect(libpq_url(settings.resolved_database_url), autocommit=True)
        self._conn.execute(EXPORT_SESSION_SETUP)

    def fetch(self, sql: str, params: Mapping[str, Any], schema: pa.Schema) -> pa.Table:
        chunks: list[bytes] = []
        statement = f"COPY ({_render(self._conn, sql, params)}) TO STDOUT (FORMAT csv)"
        with self._conn.cursor() as cur, cur.copy(statement) as copy:
            chunks.extend(bytes(chunk) for chunk in copy)
        data = b"".join(chunks)
        if not data:
            return schema.empty_table()
        return pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=schema.names, block_size=16 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=schema,
                # PostgreSQL writes NULL unquoted and '' quoted: keep them apart.
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        )

    def close(self) -> None:
        self._conn.close()


class AdbcTransport:
    """The ADBC PostgreSQL driver (binary COPY decoded in C++). Optional package."""

    name = "adbc"

    def __init__(self, settings: Settings) -> None:
        try:
            import adbc_driver_postgresql.dbapi as adbc
        except ImportError as exc:
            raise TransportUnavailable("adbc needs the adbc-driver-postgresql package") from exc
        self._render_conn = psycopg.connect(libpq_url(settings.resolved_database_url))
        self._conn = adbc.connect(libpq_url(settings.resolved_database_url))
        with self._conn.cursor() as cur:
            cur.execute(EXPORT_SESSION_SETUP)

    def fetch(self, sql: str, params: Mapping[str, Any], schema: pa.Schema) -> pa.Table:
        with self._conn.cursor() as cur:
            cur.execute(_render(self._render_conn, sql, params))
            table = cur.fetch_arrow_table()
        return table.rename_columns(schema.names).cast(schema)

    def close(self) -> None:
        self._conn.close()
        self._render_conn.close()


class PolarsTransport:
    """``polars.read_database`` over a psycopg connection (row-wise DB-API fetch)."""

    name = "polars"

    def __init__(self, settings: Settings) -> None:
        self._conn = psycopg.connect(libpq_url(settings.resolved_database_url), autocommit=True)
        self._conn.execute(EXPORT_SESSION_SETUP)

    def fetch(self, sql: str, params: Mapping[str, Any], schema: pa.Schema) -> pa.Table:
        import polars as pl

        expected = pl.DataFrame(schema.empty_table()).schema
        frame = pl.read_database(
            _render(self._conn, sql, params), self._conn, schema_overrides=expected
        )
        if frame.height == 0:
            return schema.empty_table()
        return frame.to_arrow().rename_columns(schema.names).cast(schema)

    def close(self) -> None:
        self._conn.close()


def adbc_installed() -> bool:
    """Is the optional ADBC PostgreSQL driver importable?"""
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401
    except ImportError:
        return False
    return True


def open_transport(settings: Settings, name: TransportName = "auto") -> Transport:
    """A connected transport called ``name`` (``auto``: the fastest available)."""
    if name == "auto":
        name = "adbc" if adbc_installed() else "copy_csv"
    if name == "copy_csv":
        return CopyCsvTransport(settings)
    if name == "adbc":
        return AdbcTransport(settings)
    if name == "polars":
        return PolarsTransport(settings)
    raise TransportUnavailable(f"unknown transport {name!r}; choose one of {TRANSPORTS}")
