"""Read models as order-independent folds, from one declarative description.

A :class:`FoldProjection` describes each column of its table by how two partial states
combine (a :class:`Rule`): ``MIN``, ``MAX``, ``SUM``, or membership of a :class:`Group` -
the latest (or earliest) event by ``(occurred_at, event_id)``, a sorted sequence of points,
or a map keeping the minimum per key. Every rule is associative and commutative, so the
state after any set of events is the same whatever order (and batch split) they arrive in.

From that one description come both paths:

- incremental: ``lift`` turns one event into a one-event state; the pure fold
  ``fold(state, event) = merge(state, lift(event))`` runs in Python over the affected keys,
  which are loaded, folded and upserted in the runner's transaction;
- rebuild: the projection's ``lift_sql`` (the same lift, set-based over the log) is
  aggregated with the SQL twin of each rule (``min``, ``sum``, ``DISTINCT ON``,
  ``array_agg ... ORDER BY``) in one ``INSERT ... SELECT``.

Derived columns are a function of the stored ones, written once in Python (``derive``) and
once in SQL (``derive_sql``); the shared contract tests demand the two paths give the same
table.

Identity: a projection with a ``subject`` key column keys rows by learner. An event's
subject is its ``learner_id``, else the learner its session was identified as
(``learner.identified``, earliest by ``(occurred_at, event_id)``), else its ``session_id``.
When an identification arrives after the session's events were applied, the session's rows
are re-keyed to the learner by merging them into the learner's rows: merge is the same
commutative rule, so the result equals a rebuild that knew the identity from the start.
"""

from __future__ import annotations

import functools
import operator
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

from psycopg import sql
from psycopg.adapt import PyFormat
from psycopg.types.json import Jsonb

from learnstream.log import (
    AT_OR_BELOW_SQL,
    IDENTIFIED,
    Checkpoint,
    Connection,
    LogEvent,
    earliest_identifications_sql,
    read_batch,
)
from projections.projection import Projection, ReadTable, Store

State = dict[str, Any]
Key = tuple[Any, ...]



class Rule(Enum):
    KEY = "key"
    MIN = "min"
    MAX = "max"
    SUM = "sum"
    GROUP = "group"
    DERIVED = "derived"


class GroupKind(Enum):
    LATEST = "latest"  # values of the event with the greatest (at, id)
    EARLIEST = "earliest"  # values of the event with the smallest (at, id)
    SEQ = "seq"  # parallel arrays of every event's values, sorted by (at, id)
    MINMAP = "minmap"  # parallel arrays (keys, values): the minimum value per key, by key
    SUMMAP = "summap"  # parallel arrays (keys, values): the sum of values per key, by key


@dataclass(frozen=True, slots=True)
class Group:
    """Columns that move together. For LATEST/EARLIEST/SEQ the first two columns are the
    tie-break ``(at, event_id)``; for MINMAP they are (keys, values)."""

    name: str
    kind: GroupKind
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Col:
    """One column of a fold's table: the one place its name, type, merge rule, nullability
    and visibility are written. The table's DDL and its view's columns are generated from
    these (:func:`table_of`), so they cannot drift from the fold."""

    name: str
    pg_type: str
    rule: Rule
    group: str | None = None
    #: NOT NULL in the table (key columns always are: they form the primary key).
    required: bool = False
    #: Shown in the ``read.<table>`` view; internal fold state (tie-break ids, points) is not.
    public: bool = True


def table_of(
    name: str,
    columns: Sequence[Col],
    indexes: tuple[str, ...] = (),
    primary_key: Sequence[str] | None = None,
) -> ReadTable:
    """The :class:`ReadTable` of a fold: DDL from the column definitions, primary key from
    the key columns (in ``primary_key``'s order if given), the view's columns in declaration
    order."""
    lines = [
        f'"{c.name}" {c.pg_type.upper()}'
        + (" NOT NULL" if c.required or c.rule is Rule.KEY else "")
        for c in columns
    ]
    key_names = [c.name for c in columns if c.rule is Rule.KEY]
    if primary_key is not None:
        if sorted(primary_key) != sorted(key_names):
            raise ValueError(f"{name}: primary_key {primary_key} is not the key columns")
        key_names = list(primary_key)
    keys = [f'"{k}"' for k in key_names]
    ddl = ", ".join([*lines, f"PRIMARY KEY ({', '.join(keys)})"])
    return ReadTable(name, ddl, tuple(c.name for c in columns if c.public), indexes)


def _tiebreak(state: State, group: Group) -> tuple[Any, Any]:
    return state[group.columns[0]], state[group.columns[1]]


def _min(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else min(a, b)


def _max(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else max(a, b)


class FoldProjection(Projection):
    """A one-table projection described by column rules; see the module docstring.

    A subclass declares ``table_name``, ``columns`` and optionally ``indexes``; its
    ``tables`` are generated from them when the class is created."""

    table_name: ClassVar[str]
    columns: ClassVar[tuple[Col, ...]]
    #: Extra indexes, as column lists (e.g. ``"(learner_id)"``, ``"(x) WHERE y"``).
    indexes: ClassVar[tuple[str, ...]] = ()
    #: The primary key's column order when it is not the key columns' declaration order.
    primary_key: ClassVar[tuple[str, ...] | None] = None
    groups: ClassVar[tuple[Group, ...]] = ()
    #: Key column that holds a learner (re-keyed on learner.identified), if any.
    subject: ClassVar[str | None] = None
    #: SQL SELECT producing one lifted row per (event, key): every non-derived column, with
    #: scalars for SEQ/MINMAP members. Placeholders: {upto} (the rebuild bound, a WHERE
    #: condition on tx_id/position) and {subject} (the resolved subject expression; join
    #: ``identities i USING (session_id)`` to use it).
    lift_sql: ClassVar[str]
    #: Derived column -> SQL expression over the stored columns.
    derive_sql: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "columns" in cls.__dict__:
            cls.tables = (table_of(cls.table_name, cls.columns, cls.indexes, cls.primary_key),)

    # -- what a concrete projection writes -------------------------------------------------

    @abstractmethod
    def lift(self, event: LogEvent, subject: str) -> list[State]:
        """The one-event states (with key columns) of ``event``; [] if it changes nothing."""

    def derive(self, state: State) -> State:
        """Derived columns of ``state`` (default: none)."""
        return {}

    # -- the pure fold ---------------------------------------------------------------------

    @classmethod
    def key_columns(cls) -> tuple[str, ...]:
        return tuple(c.name for c in cls.columns if c.rule is Rule.KEY)

    @classmethod
    def stored_columns(cls) -> tuple[str, ...]:
        return tuple(c.name for c in cls.columns if c.rule is not Rule.DERIVED)

    def key_of(self, state: State) -> Key:
        return tuple(state[k] for k in self.key_columns())

    def merge(self, a: State, b: State) -> State:
        """Combine two partial states of the same key (associative and commutative)."""
        return self.merge_all([a, b])

    def merge_all(self, states: Sequence[State]) -> State:
        """Combine partial states of one key at once, deriving once (a batch that touches a
        long session many times costs one sort of its points, not one per event)."""
        first = states[0]
        out: State = {}
        for col in self.columns:
            name = col.name
            if col.rule is Rule.KEY:
                out[name] = first[name]
            elif col.rule is Rule.MIN:
                out[name] = functools.reduce(_min, (s[name] for s in states))
            elif col.rule is Rule.MAX:
                out[name] = functools.reduce(_max, (s[name] for s in states))
            elif col.rule is Rule.SUM:
                out[name] = sum(s[name] or 0 for s in states)
        for group in self.groups:
            if group.kind in (GroupKind.LATEST, GroupKind.EARLIEST):
                winner: State = states[0]
                for other in states[1:]:
                    winner = _merge_group(group, winner, other)
                out.update({c: winner[c] for c in group.columns})
            else:
                out.update(_merge_collections(group, states))
        out.update(self.derive(out))
        return out

    def fold(self, state: State | None, event: LogEvent, subject: str) -> list[State]:
        """The pure fold: ``state`` (of the event's key, or None) with ``event`` applied.
        Returns the new state(s) of every key the event touches."""
        return [
            self.merge_all(
                [state, one]
                if state is not None and self.key_of(one) == self.key_of(state)
                else [one]
            )
            for one in self.lift(event, subject)
        ]

    def empty_lift(self, **values: Any) -> State:
        """A lifted state with every stored column None/empty, overridden by ``values``.
        Derived columns stay None: :meth:`merge_all` derives once per key."""
        state = {k: ([] if isinstance(v, list) else v) for k, v in self._blank().items()}
        for name, value in values.items():
            if name not in state:
                raise KeyError(f"{self.name} has no column {name!r}")
            state[name] = value
        return state

    @classmethod
    @functools.cache
    def _blank(cls) -> Mapping[str, Any]:
        blank: State = {c.name: (0 if c.rule is Rule.SUM else None) for c in cls.columns}
        for group in cls.groups:
            if group.kind in _ARRAY_KINDS:
                for name in group.columns:
                    blank[name] = []
        return blank

    # -- incremental path ------------------------------------------------------------------

    def apply_batch(self, conn: Connection, events: Sequence[LogEvent], store: Store) -> None:
        if not events:
            return
        table = store.table(self.tables[0].name)
        identities: dict[str, str] = {}
        pending: list[State] = []
        if self.subject is not None:
            identities = _identities(conn, events)
            pending.extend(self._rekey(conn, table, events, identities))
        for event in events:
            if event.event_type == IDENTIFIED and self.subject is not None:
                continue  # handled by _rekey
            subject = event.learner_id or identities.get(event.session_id, event.session_id)
            pending.extend(self.lift(event, subject))
        if not pending:
            return
        by_key: dict[Key, list[State]] = {}
        for one in pending:
            by_key.setdefault(self.key_of(one), []).append(one)
        states = self._load(conn, table, by_key)
        for key, parts in by_key.items():
            current = states.get(key)
            states[key] = self.merge_all(parts if current is None else [current, *parts])
        self._upsert(conn, table, states.values())

    def _rekey(
        self,
        conn: Connection,
        table: sql.Identifier,
        events: Sequence[LogEvent],
        identities: Mapping[str, str],
    ) -> list[State]:
        assert self.subject is not None
        moved: list[State] = []
        for session in sorted({e.session_id for e in events if e.event_type == IDENTIFIED}):
            learner = identities.get(session)
            if learner is None or learner == session:
                continue
            cols = self._column_list()
            rows = conn.execute(
                sql.SQL("DELETE FROM {} WHERE {} = %s RETURNING {}").format(
                    table, sql.Identifier(self.subject), cols
                ),
                (session,),
            ).fetchall()
            for row in rows:
                state = dict(zip(self._all_names(), row, strict=True))
                state[self.subject] = learner
                moved.append(state)
        return moved

    def _all_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def _column_list(self) -> sql.Composed:
        return sql.SQL(", ").join(sql.Identifier(n) for n in self._all_names())

    def _load(
        self, conn: Connection, table: sql.Identifier, keys: Iterable[Key]
    ) -> dict[Key, State]:
        keys = list(keys)
        key_cols = [c for c in self.columns if c.rule is Rule.KEY]
        arrays = [[k[i] for k in keys] for i in range(len(key_cols))]
        query = sql.SQL("SELECT {} FROM {} WHERE ({}) IN (SELECT * FROM unnest({}))").format(
            self._column_list(),
            table,
            sql.SQL(", ").join(sql.Identifier(c.name) for c in key_cols),
            sql.SQL(", ").join(sql.SQL(f"%s::{c.pg_type}[]") for c in key_cols),
        )
        out: dict[Key, State] = {}
        for row in conn.execute(query, arrays, binary=True).fetchall():
            state = dict(zip(self._all_names(), row, strict=True))
            out[self.key_of(state)] = state
        return out

    def _upsert(self, conn: Connection, table: sql.Identifier, states: Iterable[State]) -> None:
        names = self._all_names()
        keys = self.key_columns()
        query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}").format(
            table,
            self._column_list(),
            # Binary parameters: arrays and uuids skip text quoting (a third of the cost).
            sql.SQL(", ").join(sql.Placeholder(format=PyFormat.BINARY) * len(names)),
            sql.SQL(", ").join(sql.Identifier(k) for k in keys),
            sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n))
                for n in names
                if n not in keys
            ),
        )
        jsonb = {c.name for c in self.columns if c.pg_type == "jsonb"}
        rows = [
            tuple(Jsonb(s[n]) if n in jsonb and s[n] is not None else s[n] for n in names)
            for s in states
        ]
        with conn.cursor() as cur:
            cur.executemany(query, rows)

    # -- rebuild path ----------------------------------------------------------------------

    def rebuild(self, conn: Connection, store: Store, upto: Checkpoint) -> None:
        conn.execute(self.rebuild_sql(store), {"tx": str(upto.tx_id), "pos": upto.position})

    def rebuild_sql(self, store: Store) -> sql.Composed:
        """``INSERT ... SELECT``: lift every event at or below the bound, aggregate by rule."""
        keys = self.key_columns()
        key_list = ", ".join(f'"{k}"' for k in keys)
        plain = [
            f'{_SQL_AGG[c.rule]}("{c.name}") AS "{c.name}"'
            for c in self.columns
            if c.rule in _SQL_AGG
        ]
        parts = [
            f"(SELECT {key_list}{''.join(', ' + p for p in plain)} FROM e GROUP BY {key_list}) AS a"
        ]
        for g in self.groups:
            parts.append(
                f'LEFT JOIN ({_group_sql(g, key_list)}) AS "g_{g.name}" USING ({key_list})'
            )
        names = self._all_names()
        stored = ", ".join(f'{self._final_expr(n)} AS "{n}"' for n in self.stored_columns())
        select = ", ".join(
            f"({self.derive_sql[n]})" if n in self.derive_sql else f's."{n}"' for n in names
        )
        targets = ", ".join(f'"{n}"' for n in names)
        joined = " ".join(parts)
        text = (
            f"WITH identities AS ({IDENTITIES_SQL}), e AS ({self.lift_sql}) "
            f"INSERT INTO {{table}} ({targets}) "
            f"SELECT {select} FROM (SELECT {stored} FROM (SELECT * FROM {joined}) AS r) AS s"
        )
        text = text.replace("{upto}", UPTO_SQL).replace("{subject}", SUBJECT_SQL)
        # Composed by concatenation, not .format(): the SQL holds literal braces ('{}').
        before, after = text.split("{table}")
        return sql.Composed([sql.SQL(before), store.table(self.tables[0].name), sql.SQL(after)])

    def _final_expr(self, name: str) -> str:
        col = next(c for c in self.columns if c.name == name)
        if col.rule is Rule.SUM:
            # sum() of integers is numeric in SQL; cast back so derived SQL does integer math.
            return f'coalesce(r."{name}", 0)::{col.pg_type}'
        group = next((g for g in self.groups if name in g.columns), None)
        if group is not None and group.kind in _ARRAY_KINDS:
            return f"coalesce(r.\"{name}\", '{{}}')"
        return f'r."{name}"'


UPTO_SQL = AT_OR_BELOW_SQL
SUBJECT_SQL = "coalesce(l.learner_id, i.learner_id, l.session_id)"

#: Earliest identification of each session, within the rebuild bound (the identity rule, as
#: on the incremental path in :func:`_identities`).
IDENTITIES_SQL = earliest_identifications_sql("log.catalog_events", AT_OR_BELOW_SQL)

_IDENTITIES_FOR = earliest_identifications_sql(
    "log.catalog_events",
    "session_id = ANY(%(sessions)s) AND " + AT_OR_BELOW_SQL,
)

_ARRAY_KINDS = (GroupKind.SEQ, GroupKind.MINMAP, GroupKind.SUMMAP)
_SQL_AGG = {Rule.MIN: "min", Rule.MAX: "max", Rule.SUM: "sum"}


def _identities(conn: Connection, events: Sequence[LogEvent]) -> dict[str, str]:
    """session -> learner for the batch's sessions, from identifications up to the batch end."""
    sessions = sorted(
        {e.session_id for e in events if e.learner_id is None or e.event_type == IDENTIFIED}
    )
    if not sessions:
        return {}
    end = events[-1].checkpoint
    rows = conn.execute(
        _IDENTITIES_FOR, {"sessions": sessions, "tx": str(end.tx_id), "pos": end.position}
    ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def _merge_collections(group: Group, states: Sequence[State]) -> State:
    """SEQ / MINMAP / SUMMAP groups of many partial states."""
    cols = group.columns
    if group.kind is GroupKind.SEQ:
        rows = sorted(
            (row for s in states for row in zip(*(s[c] for c in cols), strict=True)),
            key=lambda r: (r[0], r[1]),
        )
        return {c: [r[i] for r in rows] for i, c in enumerate(cols)}
    keys_col, values_col = cols
    combine: Callable[[Any, Any], Any] = min if group.kind is GroupKind.MINMAP else operator.add
    merged: dict[Any, Any] = {}
    for s in states:
        for k, v in zip(s[keys_col], s[values_col], strict=True):
            merged[k] = v if k not in merged else combine(merged[k], v)
    ordered = sorted(merged)
    return {keys_col: ordered, values_col: [merged[k] for k in ordered]}


def _merge_group(group: Group, a: State, b: State) -> State:
    """A LATEST / EARLIEST group: the values of the side whose (at, event_id) wins."""
    ta, tb = _tiebreak(a, group), _tiebreak(b, group)
    if ta[0] is None:
        winner = b
    elif tb[0] is None:
        winner = a
    elif group.kind is GroupKind.LATEST:
        winner = a if ta > tb else b
    else:
        winner = a if ta < tb else b
    return {c: winner[c] for c in group.columns}


def _group_sql(group: Group, key_list: str) -> str:
    cols = group.columns
    quoted = [f'"{c}"' for c in cols]
    if group.kind in (GroupKind.LATEST, GroupKind.EARLIEST):
        direction = "DESC" if group.kind is GroupKind.LATEST else "ASC"
        return (
            f"SELECT DISTINCT ON ({key_list}) {key_list}, {', '.join(quoted)} FROM e "
            f"WHERE {quoted[0]} IS NOT NULL "
            f"ORDER BY {key_list}, {quoted[0]} {direction}, {quoted[1]} {direction}"
        )
    if group.kind is GroupKind.SEQ:
        order = f"{quoted[0]}, {quoted[1]}"
        aggs = ", ".join(f"array_agg({q} ORDER BY {order}) AS {q}" for q in quoted)
        return f"SELECT {key_list}, {aggs} FROM e WHERE {quoted[0]} IS NOT NULL GROUP BY {key_list}"
    k, v = quoted
    agg = "min" if group.kind is GroupKind.MINMAP else "sum"
    return (
        f'SELECT {key_list}, array_agg({k} ORDER BY {k} COLLATE "C") AS {k}, '
        f'array_agg({v} ORDER BY {k} COLLATE "C") AS {v} '
        f"FROM (SELECT {key_list}, {k}, {agg}({v}) AS {v} FROM e WHERE {k} IS NOT NULL "
        f"GROUP BY {key_list}, {k}) AS m GROUP BY {key_list}"
    )


def replay_rebuild(
    projection: Projection, conn: Connection, store: Store, upto: Checkpoint, batch: int = 20_000
) -> None:
    """A rebuild that replays the incremental path in large batches: for projections without
    a set-based SQL rebuild (correct by construction, slower)."""
    after = Checkpoint.START
    while after < upto:
        got = read_batch(conn, after, projection.families, projection.event_types, batch)
        events = [e for e in got.events if e.checkpoint <= upto]
        projection.apply_batch(conn, events, store)
        if got.rows_read == 0 or got.end >= upto:
            break
        after = got.end
