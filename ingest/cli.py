"""Commands of this stage, registered on the root ``learnstream`` app: ``ingest``."""

from __future__ import annotations

from collections.abc import Callable

import typer

from learnstream.settings import Settings

#: Starts what the settings point at when it is local and not running (the app hands in the
#: development stack; a deployment hands in nothing and the services must already run).
StartServices = Callable[[Settings], None]


def register(app: typer.Typer, *, start_services: StartServices) -> None:
    """Add this stage's commands to ``app``."""

    @app.command("ingest")
    def ingest_command(
        until_idle: float | None = typer.Option(
            None,
            "--until-idle",
            metavar="SECONDS",
            help="Exit 0 once no message arrived for this long and every partition is "
            "committed.",
        ),
        partitions: int = typer.Option(3, help="Partitions for topics that do not exist yet."),
    ) -> None:
        """Consume the event topics into the append-only log (exactly once in effect)."""
        ingest(until_idle=until_idle, partitions=partitions, start_services=start_services)


def ingest(*, until_idle: float | None, partitions: int, start_services: StartServices) -> None:
    """Run the consumer until stopped (or idle); print a summary."""
    import anyio
    from rich.console import Console

    from ingest.logs import configure_logging
    from ingest.report import summary_table
    from ingest.runner import run_ingest
    from ingest.topics import ensure_topics
    from learnstream.settings import load_settings

    settings = load_settings()
    configure_logging()
    start_services(settings)
    ensure_topics(settings, partitions=partitions)
    # A ConsumerFailed (or any error) ends the command through the root command's one
    # error line (exit 1); the consumer has logged the details.
    summary = anyio.run(lambda: run_ingest(settings, until_idle=until_idle))
    Console().print(summary_table(summary))
