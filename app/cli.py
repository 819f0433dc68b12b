"""The ``learnstream`` command: the composition root. Each stage registers its own commands
here and receives what it needs from outside its stage (the development stack, the Kafka
sink, the running projections) as arguments, so no stage imports another stage's later
neighbour or the app. Heavy imports happen inside the commands so ``--help`` stays fast."""

from __future__ import annotations

import typer

import ingest.cli
import learner_model.cli
import projections.cli
import simulator.cli
import warehouse.cli
from app.wiring import kafka_sink, running_projections, start_services
from devstack.cli import app as stack_app

app = typer.Typer(
    name="learnstream",
    help="Event-sourced analytics and learner modeling for learning apps.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(stack_app, name="stack", help="Start, stop and inspect the local Kafka + PostgreSQL.")
contracts_app = typer.Typer(help="Event contracts: JSON Schema and AsyncAPI.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")


@app.command()
def migrate(revision: str = typer.Option("head", help="Target revision.")) -> None:
    """Upgrade the database schema (starts the local PostgreSQL if needed)."""
    from rich.console import Console

    from devstack import ensure_stack
    from learnstream.db import current_revision
    from learnstream.db import migrate as run_migrate
    from learnstream.settings import load_settings

    settings = load_settings()
    ensure_stack(settings, kafka=False)
    run_migrate(settings, revision)
    Console().print(f"[green]database at revision[/] {current_revision(settings)}")


@app.command()
def demo(
    learners: int = typer.Option(80, min=1, help="Simulated learners."),
    days: int = typer.Option(10, min=1, help="Simulated days."),
    seed: int = typer.Option(7, help="Simulation seed (same seed: same events, nothing new)."),
) -> None:
    """Run the whole pipeline once on simulated learners and summarise what landed."""
    from rich.console import Console

    from app.demo import DemoConfig, run_demo
    from learnstream.settings import load_settings

    summary = run_demo(
        load_settings(), DemoConfig(learners=learners, days=days, seed=seed), Console()
    )
    if summary.notes:
        raise typer.Exit(1)


@app.command()
def health(
    kafka: bool = typer.Option(True, help="Also check the Kafka broker."),
    ingest: bool = typer.Option(
        False, "--ingest", help="Also check that ingest makes progress while messages wait."
    ),
    projections: bool = typer.Option(
        False, "--projections", help="Also check that no projection failed or falls behind."
    ),
    max_stall: float = typer.Option(
        120.0, min=0, help="--ingest: seconds without an append while messages wait."
    ),
    max_lag: float = typer.Option(
        300.0, min=0, help="--projections: age limit of the oldest unapplied log row."
    ),
) -> None:
    """Exit 0 when PostgreSQL (and Kafka) answer and the checked services make progress,
    1 otherwise; for health checks."""
    from rich.console import Console

    from app.health import check_database, check_ingest, check_kafka, check_projections
    from learnstream.errors import TransientError, Unhealthy
    from learnstream.settings import load_settings

    settings = load_settings()
    console = Console()
    try:
        console.print(f"postgres {check_database(settings)}: ok")
        if kafka:
            console.print(f"kafka ({check_kafka(settings)} topics): ok")
        if ingest:
            console.print(f"ingest: {check_ingest(settings, max_stall)}")
        if projections:
            projected = check_projections(settings, running_projections(), max_lag)
            console.print(f"projections: {projected}")
    except (TransientError, Unhealthy) as exc:
        console.print(f"[red]unhealthy:[/] {exc}")
        raise typer.Exit(1) from exc


@contracts_app.command("export")
def contracts_export(
    out: str = typer.Option("", help="Folder to write to (default: the committed schema folder)."),
) -> None:
    """Write JSON Schema for every event type and the AsyncAPI document."""
    from pathlib import Path

    from rich.console import Console

    from ingest.asyncapi import asyncapi_document
    from learnstream.contracts.export import SCHEMA_DIR, event_schemas, write_documents

    documents = event_schemas()
    documents["asyncapi.json"] = asyncapi_document()
    paths = write_documents(documents, Path(out) if out else SCHEMA_DIR)
    Console().print(f"wrote {len(paths)} documents to {paths[0].parent}")


ingest.cli.register(app, start_services=start_services)
simulator.cli.register(app, kafka_sink=kafka_sink)
projections.cli.register(app, running=running_projections)
learner_model.cli.register(app)
warehouse.cli.register(app)


def main() -> None:
    app()
