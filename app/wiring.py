"""What the app hands to the stages: the things a stage needs from outside itself, built
here so no stage imports its later neighbours or the development stack."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: ``import app.cli`` must not load the stages
    from learnstream.contracts import Envelope
    from learnstream.settings import Settings
    from projections.projection import Projection
    from simulator.sinks import EventSink


def start_services(settings: Settings) -> None:
    """Start the local stack when the settings point at it (nothing when both are external)."""
    from devstack import ensure_stack

    ensure_stack(settings)


def kafka_sink(settings: Settings) -> EventSink:
    """The simulator's Kafka sink: ingest's producer (acks=all, idempotent)."""

    def send(events: Iterable[Envelope]) -> int:
        from ingest.emitter import produce

        return produce(settings, events)

    return send


def running_projections(settings: Settings) -> list[Projection]:
    """The projector's set for ``settings`` (:func:`app.projections.running_projections`),
    imported when asked for: it loads the projections and learner-model stages."""
    from app.projections import running_projections as composed

    return composed(settings.session_gap)
