"""Commands of this stage, registered on the root ``learnstream`` app: ``ingest`` and
``dead-letters list|show|replay``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

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
        workers: int | None = typer.Option(
            None, "--workers", min=1, metavar="N",
            help="Consumer processes to run (default: LEARNSTREAM_INGEST__WORKERS, 1); "
            "more than a topic's partitions stand by.",
        ),
    ) -> None:
        """Consume the event topics into the append-only log (exactly once in effect)."""
        ingest(until_idle=until_idle, partitions=partitions, workers=workers,
               start_services=start_services)

    dead = typer.Typer(no_args_is_help=True, help="Inspect and replay refused messages.")
    app.add_typer(dead, name="dead-letters")

    reason_opt = typer.Option(None, "--reason", help="Only this reason (stored or latest).")
    topic_opt = typer.Option(None, "--topic", help="Only this physical source topic.")
    since_opt = typer.Option(None, "--since", help="Received at or after (ISO 8601).")
    until_opt = typer.Option(None, "--until", help="Received before (ISO 8601).")

    @dead.command("list")
    def dead_letters_list(
        reason: str | None = reason_opt,
        topic: str | None = topic_opt,
        since: datetime | None = since_opt,
        until: datetime | None = until_opt,
        status: str | None = typer.Option(
            None, "--status", help="pending (never appended), appended, duplicate, rejected."
        ),
        limit: int = typer.Option(50, min=1, help="At most this many, newest first."),
    ) -> None:
        """Dead letters, newest first, with what their latest replay did."""
        from rich.console import Console
        from rich.table import Table

        from ingest.queries import LIST_DEAD_LETTERS
        from ingest.replay import DeadLetterFilter
        from learnstream.db import connect
        from learnstream.settings import load_settings

        if status not in (None, "pending", "appended", "duplicate", "rejected"):
            raise typer.BadParameter(
                "use pending, appended, duplicate or rejected", param_hint="--status"
            )
        settings = load_settings()
        start_services(settings)
        where = DeadLetterFilter(reason, topic, since, until, status)
        with connect(settings) as conn:
            rows = conn.execute(LIST_DEAD_LETTERS, {**where.params(), "limit": limit}).fetchall()
        table = Table("id", "received", "reason", "type", "topic", "bytes", "replay", "detail")
        for r in rows:
            replay = "-" if r[7] is None else r[7] + (f" ({r[8]})" if r[8] else "")
            table.add_row(str(r[0]), f"{r[1]:%Y-%m-%d %H:%M:%S}", r[2], r[4] or "-", r[5],
                          str(r[6]), replay, r[3][:80])
        console = Console()
        console.print(table)
        console.print(f"{len(rows)} dead letters shown (limit {limit})")

    @dead.command("show")
    def dead_letters_show(
        letter_id: int = typer.Argument(..., help="The dead letter's id (from list)."),
        raw: bool = typer.Option(False, "--raw", help="Write only the raw bytes to stdout."),
    ) -> None:
        """One dead letter: reason, detail, source, latest replay and the message itself."""
        import sys

        from rich.console import Console

        from ingest.queries import SHOW_DEAD_LETTER
        from learnstream.db import connect
        from learnstream.settings import load_settings

        settings = load_settings()
        start_services(settings)
        with connect(settings) as conn:
            row = conn.execute(SHOW_DEAD_LETTER, {"id": letter_id}).fetchone()
        if row is None:
            Console(stderr=True).print(
                f"no dead letter {letter_id}: `learnstream dead-letters list` shows the ids"
            )
            raise typer.Exit(1)
        if raw:
            sys.stdout.buffer.write(bytes(row[10]))
            return
        console = Console(highlight=False)
        fields = ("id", "received_at", "reason", "detail", "event_id", "event_type",
                  "kafka_topic", "kafka_partition", "kafka_offset")
        for name, value in zip(fields, row, strict=False):
            console.print(f"[bold]{name}[/]: {value}", markup=True, soft_wrap=True)
        replay = "never replayed" if row[11] is None else (
            f"{row[11]} at {row[13]:%Y-%m-%d %H:%M:%S}" + (f" ({row[12]})" if row[12] else "")
        )
        console.print(f"[bold]latest replay[/]: {replay}")
        body = bytes(row[10])
        text = body[:4096].decode("utf-8", errors="replace")
        more = f" ... ({len(body)} bytes; --raw for all)" if len(body) > 4096 else ""
        console.print(f"[bold]raw[/]: {text}{more}", markup=True, soft_wrap=True)

    @dead.command("replay")
    def dead_letters_replay(
        reason: str | None = reason_opt,
        topic: str | None = topic_opt,
        since: datetime | None = since_opt,
        until: datetime | None = until_opt,
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Decode and report; write nothing."
        ),
    ) -> None:
        """Re-decode never-appended dead letters with today's contracts; append what now
        passes (idempotent); what still fails stays, with its new reason."""
        from rich.console import Console

        from ingest.replay import DeadLetterFilter, replay_dead_letters
        from learnstream.settings import load_settings

        settings = load_settings()
        start_services(settings)
        console = Console()
        with console.status("replaying dead letters") as progress:
            summary = replay_dead_letters(
                settings, DeadLetterFilter(reason, topic, since, until),
                dry_run=dry_run,
                on_progress=lambda s: progress.update(
                    f"replayed {s.tried}: {s.appended} appended"
                ),
            )
        rejected = ", ".join(f"{n} {r}" for r, n in sorted(summary.rejected.items())) or "none"
        verb = "would append" if dry_run else "appended"
        console.print(
            f"dead letters tried {summary.tried}: {verb} {summary.appended}, already in the "
            f"log {summary.duplicates}, still rejected {sum(summary.rejected.values())} "
            f"({rejected})"
        )


def ingest(
    *, until_idle: float | None, partitions: int, start_services: StartServices,
    workers: int | None = None,
) -> None:
    """Run the consumer (or ``workers`` consumer processes) until stopped or idle; print a
    summary."""
    import anyio
    from rich.console import Console

    from ingest.logs import configure_logging
    from ingest.report import summary_table
    from ingest.runner import run_ingest
    from ingest.startup import wait_for_services
    from learnstream.settings import load_settings

    settings = load_settings()
    configure_logging()
    start_services(settings)
    # Bounded and logged: against nothing, one line and exit 1 (not silence).
    wait_for_services(settings, partitions=partitions)
    # A ConsumerFailed (or any error) ends the command through the root command's one
    # error line (exit 1); the consumer has logged the details.
    count = workers or settings.ingest.workers
    if count > 1:
        from ingest.workers import run_workers

        summary = run_workers(settings, count, until_idle=until_idle)
    else:
        summary = anyio.run(lambda: run_ingest(settings, until_idle=until_idle))
    Console().print(summary_table(summary))
