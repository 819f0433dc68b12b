"""``learnstream simulate``, registered on the root app. The Kafka sink is handed in by the
app, so this package knows no stage."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from learnstream.settings import Settings
from simulator.sinks import EventSink


def register(app: typer.Typer, *, kafka_sink: Callable[[Settings], EventSink]) -> None:
    """Add ``simulate`` to ``app``; ``kafka_sink(settings)`` sends events to Kafka."""

    @app.command("simulate")
    def simulate(
        learners: int = typer.Option(200, min=1, help="Simulated learners."),
        days: int = typer.Option(14, min=1, help="Simulated days."),
        seed: int = typer.Option(0, min=0, help="Random seed; the same seed gives the same bytes."),
        start: str = typer.Option(
            "", help="First day, YYYY-MM-DD (UTC). Default: DAYS days before today."
        ),
        out: Path | None = typer.Option(
            None, help="JSONL output (default events.jsonl unless --kafka)."
        ),
        truth: Path | None = typer.Option(
            None, help="Ground-truth JSON (default: next to --out, NAME.truth.json)."
        ),
        kafka: bool = typer.Option(False, "--kafka", help="Produce to Kafka (LEARNSTREAM_*)."),
        duplicate_rate: float = typer.Option(0.02, min=0.0, max=0.5),
        out_of_order_rate: float = typer.Option(0.03, min=0.0, max=0.5),
        anonymous_share: float = typer.Option(0.3, min=0.0, max=1.0),
    ) -> None:
        """Generate realistic, seeded learner behaviour plus its hidden ground truth."""
        from rich.console import Console

        from learnstream.settings import load_settings
        from simulator import SimulationConfig
        from simulator.command import parse_start, run

        try:
            first_day = parse_start(start, days)
        except ValueError:
            raise typer.BadParameter(
                f"{start!r} is not a date YYYY-MM-DD", param_hint="'--start'"
            ) from None
        config = SimulationConfig(
            learners=learners,
            days=days,
            seed=seed,
            start=first_day,
            duplicate_rate=duplicate_rate,
            out_of_order_rate=out_of_order_rate,
            anonymous_share=anonymous_share,
        )
        sink = None
        if kafka:
            settings = load_settings()
            sink = kafka_sink(settings)
        run(config, out=out, truth=truth, sink=sink, console=Console())


