"""`learnstream stack up|down|status|reset`: the local stack from the command line. A
:class:`~devstack.errors.StackError` ends the command through the root ``learnstream``
command, which prints it on one line (exit 1)."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.table import Table

from devstack.stack import ensure_stack, stack_down, stack_reset, stack_status
from devstack.status import ComponentState, StackStatus
from learnstream.settings import load_settings

app = typer.Typer(help="Run the local Kafka + PostgreSQL stack (no Docker).", no_args_is_help=True)
console = Console()

_STATE_STYLE = {
    ComponentState.RUNNING: "green",
    ComponentState.STOPPED: "red",
    ComponentState.EXTERNAL: "cyan",
}


def status_table(status: StackStatus) -> Table:
    table = Table(title="Learnstream stack")
    for column in ("component", "state", "pid", "address"):
        table.add_column(column, no_wrap=True)
    for column in ("data dir", "log file"):
        table.add_column(column, overflow="fold")  # paths wrap rather than lose their ends
    for component in status.components:
        style = _STATE_STYLE[component.state]
        table.add_row(
            component.name,
            f"[{style}]{component.state}[/{style}]",
            str(component.pid or ""),
            component.address,
            str(component.data_dir or ""),
            str(component.log_file or ""),
        )
    return table


@app.command()
def up() -> None:
    """Start Kafka and PostgreSQL unless they already run (or are external)."""
    settings = load_settings()
    started = time.monotonic()
    status = ensure_stack(settings, console=console)
    console.print(status_table(status))
    console.print(f"Stack ready in {time.monotonic() - started:.1f} s")


@app.command()
def down() -> None:
    """Stop what `up` started; external servers are left alone."""
    settings = load_settings()
    console.print(status_table(stack_down(settings)))


@app.command()
def status() -> None:
    """Show each component: running, stopped or external."""
    settings = load_settings()
    current = stack_status(settings)
    console.print(status_table(current))
    if not current.available:
        raise typer.Exit(code=3)


@app.command()
def reset() -> None:
    """Stop, then delete local data and logs (downloaded Kafka jars are kept)."""
    settings = load_settings()
    console.print(status_table(stack_reset(settings)))


