"""Per-projection health: checkpoint, lag (events and seconds), last error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from learnstream.log import Checkpoint, Connection, pending
from projections.projection import Projection
from projections.queries import ALL_CHECKPOINTS


@dataclass(frozen=True, slots=True)
class ProjectionStatus:
    name: str
    version: int | None
    code_version: int
    generation: int | None
    checkpoint: Checkpoint | None
    events_applied: int
    lag_events: int
    lag_seconds: float | None
    last_error: str | None
    error_event_id: Any
    updated_at: datetime | None

    @property
    def state(self) -> str:
        if self.checkpoint is None:
            return "not built"
        if self.last_error:
            return "FAILED"
        if self.version != self.code_version:
            return "needs rebuild"
        return "ok" if self.lag_events == 0 else "behind"


def projection_status(
    conn: Connection, projections: Sequence[Projection]
) -> list[ProjectionStatus]:
    """Status of every projection in ``projections`` (lag = readable rows not yet applied,
    and the age of the oldest of them)."""
    rows = {r[0]: r for r in conn.execute(ALL_CHECKPOINTS).fetchall()}
    now = datetime.now(UTC)
    out: list[ProjectionStatus] = []
    for projection in projections:
        row = rows.get(projection.name)
        if row is None:
            n, oldest = pending(conn, Checkpoint.START, projection.families)
            out.append(
                ProjectionStatus(
                    projection.name,
                    None,
                    projection.version,
                    None,
                    None,
                    0,
                    n,
                    None if oldest is None else (now - oldest).total_seconds(),
                    None,
                    None,
                    None,
                )
            )
            continue
        _, version, generation, tx_id, position, applied, _, updated, error, error_id, _, _ = row
        checkpoint = Checkpoint(int(tx_id), int(position))
        n, oldest = pending(conn, checkpoint, projection.families)
        out.append(
            ProjectionStatus(
                projection.name,
                int(version),
                projection.version,
                int(generation),
                checkpoint,
                int(applied),
                n,
                None if oldest is None else (now - oldest).total_seconds(),
                error,
                error_id,
                updated,
            )
        )
    conn.commit()
    return out
