"""``learnstream learner erase`` and ``learnstream retention apply``: the root's privacy
commands (they reach the log, the projections and the warehouse, so they live here)."""

from __future__ import annotations

import typer

retention_app = typer.Typer(help="Retention: delete old log rows by policy.",
                            no_args_is_help=True)


def erase(
    learner_ids: list[str] = typer.Argument(..., help="The learner ids to erase."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only print what would go."),
) -> None:
    """Erase learners from the log, the read models and the warehouse, with a receipt each;
    later events of theirs are dropped at ingest."""
    from rich.console import Console
    from rich.table import Table

    from app.erasure import erase_learners
    from learner_model.serving.client import learner_id_problem
    from learnstream.settings import load_settings

    for learner in learner_ids:
        if (problem := learner_id_problem(learner)) is not None:
            raise typer.BadParameter(problem, param_hint="'LEARNER_IDS...'")
    console = Console()
    with console.status("erasing") as status:
        outcome = erase_learners(load_settings(), learner_ids, dry_run=dry_run,
                                 say=status.update)
    tables = sorted({t for p in outcome.plans for t in p.rows})
    rows = Table("learner", "sessions", *tables, title="rows that go" if dry_run
                 else "rows removed")
    for plan in outcome.plans:
        rows.add_row(plan.learner_id, str(len(plan.session_ids)),
                     *(str(plan.rows.get(t, 0)) for t in tables))
    console.print(rows)
    if outcome.files:
        files = Table("warehouse file", "rows", "removed",
                      title="files that would change" if dry_run else "files rewritten")
        for f in outcome.files:
            files.add_row(f.path, "-" if f.rows_before is None else str(f.rows_before),
                          "whole file" if f.rows_removed is None else str(f.rows_removed))
        console.print(files)
    total = sum(p.total_rows for p in outcome.plans)
    if dry_run:
        console.print(f"dry run: {total} rows and {len(outcome.files)} files would go; "
                      "nothing was changed")
        return
    console.print(f"[green]erased[/] {len(outcome.plans)} learners: {total} log rows, "
                  f"{len(outcome.files)} warehouse files; {len(outcome.rebuilt)} read models "
                  f"rebuilt; receipts {', '.join(map(str, outcome.receipts))} in log.erasures")


@retention_app.command("apply")
def retention_apply(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only print what would go."),
) -> None:
    """Delete log rows older than each policy of LEARNSTREAM_PRIVACY__RETENTION, through the
    audited path, then rebuild the read models."""
    from rich.console import Console
    from rich.table import Table

    from app.retention import apply_retention
    from learnstream.settings import load_settings

    console = Console()
    settings = load_settings()
    if not settings.privacy.retention:
        console.print("no retention policies: set LEARNSTREAM_PRIVACY__RETENTION "
                      "(docs/privacy.md); nothing was changed")
        return
    with console.status("applying retention") as status:
        outcome = apply_retention(settings, dry_run=dry_run, say=status.update)
    table = Table("table", "event types", "older than", "rows",
                  title="rows that would go" if dry_run else "rows removed")
    for item in outcome.items:
        table.add_row(item.policy.table, ", ".join(item.policy.event_types or ["all"]),
                      item.cutoff.isoformat(), str(item.rows))
    console.print(table)
    total = sum(i.rows for i in outcome.items)
    if dry_run:
        console.print(f"dry run: {total} rows would go; nothing was changed")
    else:
        console.print(f"[green]retention applied[/]: {total} rows removed, "
                      f"{len(outcome.rebuilt)} read models rebuilt")
