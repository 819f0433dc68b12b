"""What a simulation run looks like: size, seed, calendar and delivery imperfections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class SimulationConfig(BaseModel):
    """Everything that determines a run. Two runs with equal configs emit identical events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    learners: int = Field(ge=1, le=1_000_000)
    days: int = Field(ge=1, le=3650)
    seed: int = Field(ge=0)
    start: AwareDatetime = Field(description="Midnight (UTC) of the first simulated day.")
    duplicate_rate: float = Field(default=0.02, ge=0, le=0.5)
    out_of_order_rate: float = Field(default=0.03, ge=0, le=0.5)
    late_rate: float = Field(
        default=0.002, ge=0, le=0.1, description="Share of client events delivered days late."
    )
    anonymous_share: float = Field(
        default=0.3, ge=0, le=1, description="Learners who start without a learner_id."
    )
    identify_share: float = Field(
        default=0.7, ge=0, le=1, description="Anonymous learners who sign in during the run."
    )
    content_items: int | None = Field(
        default=None, ge=1, le=100_000, description="Catalog size; default grows with learners."
    )
    courses: int | None = Field(default=None, ge=1, le=1000)
    heartbeat_seconds: float = Field(default=30.0, gt=0, le=600)

    @model_validator(mode="after")
    def _start_is_midnight_utc(self) -> SimulationConfig:
        # Days are cut at UTC midnight; the release watermark relies on it.
        if self.start.astimezone(UTC).timetz().replace(tzinfo=None) != datetime.min.time():
            raise ValueError("start must be midnight UTC")
        return self

    @property
    def catalog_size(self) -> int:
        return self.content_items or min(1500, 40 + self.learners // 4)

    @property
    def course_count(self) -> int:
        return self.courses or min(12, 3 + self.learners // 150)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)


def default_start(days: int, today: datetime | None = None) -> datetime:
    """Midnight UTC ``days`` days before today, so a fresh run ends at today's midnight
    (the ingest pipeline rejects events from the future)."""
    now = today or datetime.now(UTC)
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=days)
