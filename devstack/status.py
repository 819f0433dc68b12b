"""What `stack status` reports: one typed record per component."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class ComponentState(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    #: Settings point at a server this stack does not manage; it is never started or stopped.
    EXTERNAL = "external"


@dataclass(frozen=True)
class ComponentStatus:
    """One server of the stack as seen right now."""

    name: str
    state: ComponentState
    address: str
    pid: int | None = None
    data_dir: Path | None = None
    log_file: Path | None = None

    @property
    def available(self) -> bool:
        """True if clients can be pointed at it (running locally, or someone else's server)."""
        return self.state is not ComponentState.STOPPED


@dataclass(frozen=True)
class StackStatus:
    kafka: ComponentStatus
    postgres: ComponentStatus

    @property
    def components(self) -> tuple[ComponentStatus, ...]:
        return (self.kafka, self.postgres)

    @property
    def available(self) -> bool:
        return all(component.available for component in self.components)
