"""Commands of this stage, registered on the root ``learnstream`` app."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""
    app.command("ingest")(ingest)

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

        from ingest.simulator import SimulationConfig
        from ingest.simulator.command import parse_start, run
        from learnstream.settings import load_settings

        config = SimulationConfig(
            learners=learners,
            days=days,
            seed=seed,
            start=parse_start(start, days),
            duplicate_rate=duplicate_rate,
            out_of_order_rate=out_of_order_rate,
            anonymous_share=anonymous_share,
        )
        run(config, out=out, truth=truth, kafka=load_settings() if kafka else None,
            console=Console())


def ingest(
    until_idle: float | None = typer.Option(
        None,
        "--until-idle",
        metavar="SECONDS",
        help="Exit 0 once no message arrived for this long and every partition is committed.",
    ),
    partitions: int = typer.Option(3, help="Partitions for topics that do not exist yet."),
) -> None:
    """Consume the event topics into the append-only log (exactly once in effect)."""
    import anyio
    from rich.console import Console

    from ingest.errors import ConsumerFailed
    from ingest.logs import configure_logging
    from ingest.report import summary_table
    from ingest.runner import run_ingest
    from ingest.topics import ensure_topics
    from learnstream.settings import load_settings
    from learnstream.stack import ensure_stack

    console = Console(stderr=True)
    settings = load_settings()
    configure_logging()
    ensure_stack(settings)
    ensure_topics(settings, partitions=partitions)
    try:
        summary = anyio.run(lambda: run_ingest(settings, until_idle=until_idle))
    except ConsumerFailed as exc:
        console.print(f"[red]ingest failed:[/] {exc}")
        raise typer.Exit(1) from exc
    Console().print(summary_table(summary))
