"""Commands of this stage, registered on the root ``learnstream`` app: ``project``,
``projections rebuild NAME``, ``projections list`` and ``status``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import typer

from projections.projection import Projection

if TYPE_CHECKING:
    from learnstream.settings import Settings

projections_app = typer.Typer(help="Read models: list and rebuild.", no_args_is_help=True)


def register(
    app: typer.Typer, *, running: Callable[[Settings], Sequence[Projection]]
) -> None:
    """Add this stage's commands to ``app``; ``running(settings)`` is the set the projector
    runs (composed by the app: this stage's projections and the learner model's)."""

    def all_projections(settings: Settings) -> list[Projection]:
        return list(running(settings))
    app.add_typer(projections_app, name="projections")

    @app.command()
    def project(
        until_caught_up: bool = typer.Option(
            False, "--until-caught-up", help="Stop once every projection has caught up."
        ),
        retry_failed: bool = typer.Option(
            False, "--retry-failed", help="Clear recorded errors and try failed ones again."
        ),
    ) -> None:
        """Run every projection continuously (woken by NOTIFY, polling as a fallback)."""
        import threading

        from rich.console import Console

        from learnstream.settings import load_settings
        from projections.runner import RunSummary, run_projections

        console = Console()
        stop = threading.Event()

        def show(summary: RunSummary) -> None:
            console.print(
                f"applied {summary.total_events} events in {summary.batches} batches", end="\r"
            )

        settings = load_settings()
        try:
            summary = run_projections(
                settings,
                all_projections(settings),
                until_caught_up=until_caught_up,
                stop=stop,
                retry_failed=retry_failed,
                on_progress=show,
            )
        except KeyboardInterrupt:
            stop.set()
            return
        rebuilt = ", ".join(summary.rebuilt) or "none"
        console.print(
            f"[green]projected[/]: rebuilt from the log: {rebuilt}; then applied "
            f"{summary.total_events} events in {summary.batches} batches ({summary.seconds:.1f}s)"
        )
        for name, error in summary.failed.items():
            console.print(f"[red]{name} stopped:[/] {error}")

    @projections_app.command("list")
    def list_projections() -> None:
        """List projections, their versions, tables and the event types they read."""
        from rich.console import Console
        from rich.table import Table

        from learnstream.settings import load_settings

        table = Table("name", "version", "tables", "event types")
        for p in all_projections(load_settings()):
            table.add_row(
                p.name,
                str(p.version),
                ", ".join(t.name for t in p.tables),
                ", ".join(sorted(p.event_types)),
            )
        Console().print(table)

    @projections_app.command("rebuild")
    def rebuild_command(name: str = typer.Argument(..., help="Projection name.")) -> None:
        """Build a fresh copy from the log, catch up and swap it in atomically."""
        from rich.console import Console

        from learnstream.db import connect
        from learnstream.settings import load_settings
        from projections.errors import UnknownProjection
        from projections.rebuild import rebuild

        console = Console()
        settings = load_settings()
        chosen = {p.name: p for p in all_projections(settings)}
        if name not in chosen:
            raise UnknownProjection(f"no projection {name!r}; known: {', '.join(chosen)}")
        with connect(settings) as conn, console.status(f"rebuilding {name}") as status:
            result = rebuild(conn, chosen[name], on_progress=status.update)
        console.print(
            f"[green]{name}[/] generation {result.generation}: bulk {result.bulk_seconds:.2f}s, "
            f"caught up {result.caught_up_events} events, total {result.total_seconds:.2f}s"
        )

    @app.command()
    def status() -> None:
        """Per projection: checkpoint, lag in events and seconds, last error."""
        from rich.console import Console
        from rich.table import Table

        from learnstream.db import connect
        from learnstream.settings import load_settings
        from projections.status import projection_status

        table = Table(
            "projection",
            "state",
            "version",
            "gen",
            "checkpoint (tx, pos)",
            "applied",
            "lag events",
            "lag s",
            "last error",
        )
        settings = load_settings()
        with connect(settings) as conn:
            for s in projection_status(conn, all_projections(settings)):
                table.add_row(
                    s.name,
                    s.state,
                    f"{s.version}/{s.code_version}",
                    str(s.generation or "-"),
                    "-"
                    if s.checkpoint is None
                    else f"{s.checkpoint.tx_id}, {s.checkpoint.position}",
                    str(s.events_applied),
                    str(s.lag_events),
                    "-" if s.lag_seconds is None else f"{s.lag_seconds:.1f}",
                    (s.last_error or "")[:80],
                )
        Console().print(table)
