"""Retention: per-table policies (``LEARNSTREAM_PRIVACY__RETENTION``) applied through the
same audited path as an erasure (``log.apply_retention``, migration 0011), with the same
guarantees: the warehouse's event parts lose the same rows (crash-safe rewrites, done
first so a crash never leaves warehouse rows the log has dropped), each policy leaves a
receipt in ``log.erasures``, and the read models are rebuilt from the remaining log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from psycopg import sql

from app.erasure import as_eraser
from learnstream.db import connect
from learnstream.errors import ConfigurationError
from learnstream.log import LOG_TABLES
from learnstream.settings import RetentionPolicy, Settings
from warehouse.erasure import FileErasure, apply_retention_to_warehouse
from warehouse.layout import WarehouseLayout

APPLY_RETENTION = "SELECT log.apply_retention(%s, %s, %s)"
RECEIPT_ROWS = "SELECT (rows ->> %s)::bigint FROM log.erasures WHERE id = %s"
_COUNT_OLD = (
    "SELECT count(*) FROM {} WHERE occurred_at < %s "
    "AND (%s::text[] IS NULL OR event_type = ANY(%s::text[]))"
)


@dataclass(frozen=True, slots=True)
class RetentionItem:
    policy: RetentionPolicy
    cutoff: datetime
    rows: int
    receipt: int | None = None


@dataclass(slots=True)
class RetentionOutcome:
    items: list[RetentionItem] = field(default_factory=list)
    files: list[FileErasure] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)


def apply_retention(
    settings: Settings,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> RetentionOutcome:
    """Apply every configured policy (or with ``dry_run`` count what would go)."""
    from app.projections import rebuild_running

    policies = settings.privacy.retention
    for policy in policies:
        if policy.table not in LOG_TABLES.values():
            raise ConfigurationError(
                f"retention policy for {policy.table!r}: not a log table (one of "
                f"{', '.join(LOG_TABLES.values())})"
            )
    at = now or datetime.now(UTC)
    layout = WarehouseLayout(settings.warehouse.dir)
    outcome = RetentionOutcome()
    with connect(settings) as conn:
        as_eraser(conn, settings)
        for policy in policies:
            cutoff = at - timedelta(days=policy.days)
            say(f"{policy.table}: rows before {cutoff:%Y-%m-%d}")
            outcome.files += apply_retention_to_warehouse(
                layout, policy.table, policy.event_types, cutoff, dry_run=dry_run
            )
            types = policy.event_types
            if dry_run:
                query = sql.SQL(_COUNT_OLD).format(sql.Identifier("log", policy.table))
                row = conn.execute(query, (cutoff, types, types)).fetchone()
                outcome.items.append(RetentionItem(policy, cutoff, int(row[0]) if row else 0))
                continue
            with conn.transaction():
                row = conn.execute(APPLY_RETENTION, (policy.table, types, cutoff)).fetchone()
                assert row is not None
                receipt = int(row[0])
                counted = conn.execute(RECEIPT_ROWS, (policy.table, receipt)).fetchone()
            removed = int(counted[0]) if counted and counted[0] is not None else 0
            outcome.items.append(RetentionItem(policy, cutoff, removed, receipt))
        conn.commit()
    if not dry_run and any(item.rows for item in outcome.items):
        outcome.rebuilt = rebuild_running(settings, say)
    return outcome
