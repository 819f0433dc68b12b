"""Commands of this stage, registered on the root ``learnstream`` app: ``export``,
``jobs run NAME`` and ``report``. Heavy imports happen inside the commands."""

from __future__ import annotations

from pathlib import Path

import typer

jobs_app = typer.Typer(help="Warehouse jobs (engagement, difficulty).", no_args_is_help=True)


def export(
    transport: str = typer.Option(
        "auto", help="auto (adbc if installed, else copy_csv), copy_csv, adbc or polars."
    ),
    batch_rows: int = typer.Option(200_000, min=1, help="Log rows per export batch."),
    readmodels: bool = typer.Option(True, help="Also snapshot the read models."),
    truth: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="Simulator ground-truth JSON to import."
    ),
) -> None:
    """Export new log rows (exactly once) and the read models to the Parquet warehouse."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from learnstream.settings import load_settings
    from warehouse import catalog
    from warehouse.export import export_log, export_readmodels
    from warehouse.layout import WarehouseLayout
    from warehouse.transport import TRANSPORTS
    from warehouse.truth import import_truth

    if transport not in TRANSPORTS:
        raise typer.BadParameter(f"transport must be one of {', '.join(TRANSPORTS)}")
    settings = load_settings()
    console = Console()
    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    ) as progress:
        task = progress.add_task("exporting log rows", total=None)

        def on_batch(done: int, total: int) -> None:
            progress.update(task, completed=done, total=max(total, done))

        result = export_log(
            settings, transport=transport, batch_rows=batch_rows, on_batch=on_batch,
        )
    models = export_readmodels(settings) if readmodels else []
    imported = import_truth(settings, truth) if truth else {}
    con = catalog.open(settings)
    views = catalog.refresh(con, WarehouseLayout(settings.warehouse.dir), settings.session_gap)
    con.close()
    console.print(
        f"[green]exported[/] {result.rows:,} rows in {result.batches} batches "
        f"({result.rows_per_second:,.0f} rows/s via {result.transport}); "
        f"checkpoint (tx {result.checkpoint.tx_id}, position {result.checkpoint.position}); "
        f"{result.orphans_removed} leftover files of an interrupted run removed"
    )
    console.print(f"read models: {', '.join(models) or 'none found upstream'}")
    if imported:
        console.print(f"truth imported: {imported}")
    console.print(f"DuckDB views ({len(views)}): {', '.join(views)} in {settings.warehouse.dir}")


@jobs_app.command("run")
def jobs_run(
    name: str = typer.Argument(..., help="engagement or difficulty"),
    engine: str = typer.Option("", help="duckdb or polars (default: the faster, measured)."),
    write_back: bool = typer.Option(True, help="Write results back to PostgreSQL."),
) -> None:
    """Run a warehouse job over the exported data; idempotent."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TimeElapsedColumn
    from rich.table import Table

    from learnstream.settings import load_settings
    from warehouse.jobs import JOBS, run_job
    from warehouse.jobs.engagement import ENGINES

    if name not in JOBS:
        raise typer.BadParameter(f"job must be one of {', '.join(JOBS)}")
    if engine and engine not in ENGINES:
        raise typer.BadParameter(f"engine must be one of {', '.join(ENGINES)}")
    console = Console()
    steps = 6 if name == "engagement" else 5
    with Progress(
        "[progress.description]{task.description}", BarColumn(), TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(name, total=steps)

        def step(description: str) -> None:
            progress.update(task, advance=1, description=f"{name}: {description}")

        result = run_job(
            load_settings(), name, engine=engine or None,
            write_to_postgres=write_back, step=step,
        )
        progress.update(task, completed=steps)
    table = Table(title=f"{name} ({result.engine}, {result.seconds:.2f} s)")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for output, rows in result.tables.items():
        table.add_row(output, f"{rows:,}")
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}")
    console.print(f"written back to PostgreSQL: {result.written_back:,} rows")


def report(
    out: Path | None = typer.Option(None, help="Folder (default: <warehouse_dir>/reports)."),
) -> None:
    """Render the key plots to PNG and an HTML page (matplotlib, Agg)."""
    from rich.console import Console

    from learnstream.settings import load_settings
    from warehouse.report import render_report

    paths = render_report(load_settings(), out)
    Console().print(f"[green]wrote[/] {len(paths)} files to {paths[0].parent}")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""
    app.command("export")(export)
    app.command("report")(report)
    app.add_typer(jobs_app, name="jobs")
