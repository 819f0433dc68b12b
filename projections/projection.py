"""The projection interface: what a read model implements so the runner can keep it current
and rebuild it. Other stages (``learner_model``) implement it too.

A projection owns one or more tables. It never names its physical tables itself: the runner
hands it a :class:`Store` that maps each logical table name to the physical table of the
current *generation* (a rebuild fills a new generation and swaps it in). Readers query the
view ``read.<table>``, which always points at the live generation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from psycopg import sql

from learnstream.contracts import Topic, topic_for
from learnstream.log import Checkpoint, Connection, LogEvent


@dataclass(frozen=True, slots=True)
class ReadTable:
    """A table a projection owns: its public name (the view ``read.<name>``), its DDL body
    (columns and constraints, formatted with the physical table name) and the columns the view
    exposes (the rest is internal fold state, e.g. tie-break event ids)."""

    name: str
    ddl: str
    public_columns: tuple[str, ...]
    indexes: tuple[str, ...] = ()  # column lists, e.g. "(learner_id)"


@dataclass(frozen=True, slots=True)
class Store:
    """Physical tables of one generation of a projection: logical name -> table."""

    schema: str
    tables: Mapping[str, str]

    def table(self, name: str) -> sql.Identifier:
        """The qualified identifier of logical table ``name`` (safe to compose into SQL)."""
        return sql.Identifier(self.schema, self.tables[name])


class Projection(ABC):
    """A read model kept current from the log.

    Contract (checked by the shared contract tests for every projection):

    - ``apply_batch`` is the incremental path. It is called inside the runner's transaction
      with events in log read order, each event exactly once; the runner commits the table
      changes together with the checkpoint. Events are only those of ``event_types``.
    - ``rebuild`` fills empty tables from the log rows at or below ``upto`` (set-based where it
      pays). After ``rebuild(upto)`` followed by ``apply_batch`` of the rows after ``upto``,
      the tables must equal those produced by ``apply_batch`` alone, in any batch sizes.
    - Results must not depend on arrival order where the meaning allows (min/max,
      latest-by ``(occurred_at, event_id)``, sums), so late and reordered events are harmless.
    - Bump ``version`` whenever the tables' meaning or shape changes: the runner rebuilds.
    """

    name: ClassVar[str]
    version: ClassVar[int]
    event_types: ClassVar[frozenset[str]]
    tables: ClassVar[tuple[ReadTable, ...]]
    #: Extra views over ``read.<table>`` views (name -> SELECT), recreated after each swap
    #: and at each projector start. An instance may set its own (a view that depends on a
    #: setting, like the session gap), so not a ClassVar.
    derived_views: tuple[tuple[str, str], ...] = ()
    #: True when the read model depends only on the set of events, not on the order they
    #: reached the log (merge rules keyed by occurred_at/event_id). An online model that
    #: updates in log order (the learner model's Kalman step) is order-dependent: its rebuild
    #: still equals its incremental fold, but two logs with the same events in another
    #: arrival order may differ.
    order_independent: ClassVar[bool] = True

    @property
    def families(self) -> frozenset[Topic]:
        """The log tables this projection reads."""
        return frozenset(topic_for(t) for t in self.event_types)

    def create_tables(self, conn: Connection, store: Store) -> None:
        """Create this generation's (empty) tables, without secondary indexes."""
        for table in self.tables:
            conn.execute(
                sql.SQL("CREATE TABLE {} ({})").format(store.table(table.name), sql.SQL(table.ddl))
            )

    def create_indexes(self, conn: Connection, store: Store) -> None:
        """Create secondary indexes (after the bulk load, which is faster)."""
        for table in self.tables:
            for i, columns in enumerate(table.indexes):
                conn.execute(
                    sql.SQL("CREATE INDEX {} ON {} {}").format(
                        sql.Identifier(f"{store.tables[table.name]}_i{i}"),
                        store.table(table.name),
                        sql.SQL(columns),
                    )
                )

    @abstractmethod
    def apply_batch(self, conn: Connection, events: Sequence[LogEvent], store: Store) -> None:
        """Fold ``events`` into the tables (incremental path)."""

    @abstractmethod
    def rebuild(self, conn: Connection, store: Store, upto: Checkpoint) -> None:
        """Fill the empty tables from every log row at or below ``upto`` (rebuild path)."""
