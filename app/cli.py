"""The ``learnstream`` command: the composition root. Each stage registers its own commands
here and receives what it needs from outside its stage (the development stack, the Kafka
sink, the running projections) as arguments, so no stage imports another stage's later
neighbour or the app.

Stages load when they are used: the root knows each stage's verbs and their one-line help
(:data:`STAGES`, a test pins them to what the stages register) and imports a stage only when
one of its verbs runs or its help is asked (:meth:`RootGroup.get_command`), so
``learnstream --help`` imports none of them. Heavy imports happen inside the commands.

Errors end here, in one place (:class:`RootGroup`), for every verb: the verbs raise (a
usage error of the command line, or a kind of :mod:`learnstream.errors`) and the root
prints one line on stderr saying what is wrong and what to do, and exits 2 for a usage
error, 1 for anything else (the database or Kafka unreachable, the stack not starting, ...).
``--debug`` adds the traceback. The stages' own kinds of error are named, not imported, so
handling them loads no stage."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
import typer.main
from typer import _click  # typer's own (vendored) click: its Context and Command classes
from typer.core import TyperCommand, TyperGroup

from app.privacy_cli import retention_app
from app.wiring import kafka_sink, running_projections, start_services
from learnstream.errors import LearnstreamError

#: Exit status of a command called wrongly (typer's and click's own convention).
USAGE_ERROR = 2
#: Exit status of a command that could not do its work (the environment, the data).
FAILED = 1

_DATABASE = ("start PostgreSQL (`learnstream stack up` starts the local one) or point "
             "LEARNSTREAM_DATABASE_URL at a running server")
_KAFKA = ("start Kafka (`learnstream stack up` starts the local one) or point "
          "LEARNSTREAM_KAFKA_BOOTSTRAP at a running broker")
_DEBUG = "rerun with --debug for the traceback"

#: Per kind of error in the one tree (:mod:`learnstream.errors`), most specific first: the
#: exit status, what the error is called for the user and what to do about it (left out
#: where the error's own message says it already). A kind is named by its module and class
#: (a test checks each name is a class of the tree) so that the root imports no stage.
ADVICE: tuple[tuple[str, int, str, str], ...] = (
    ("projections.errors.UnknownProjection", USAGE_ERROR, "",
     "`learnstream projections list` shows the names"),
    ("warehouse.errors.UnknownJob", USAGE_ERROR, "",
     "`learnstream jobs run --help` lists the jobs"),
    ("learner_model.errors.UnknownLearner", FAILED, "",
     "check the id (events reach the log through `learnstream ingest`)"),
    ("collector.errors.UnknownWriteKey", FAILED, "", ""),
    ("learnstream.errors.DatabaseUnavailable", FAILED, "PostgreSQL is unreachable", _DATABASE),
    ("learner_model.errors.StateUnavailable", FAILED, "the learner state store is unreachable",
     _DATABASE),
    ("learnstream.errors.BrokerUnavailable", FAILED, "Kafka is unreachable", _KAFKA),
    ("devstack.errors.StackError", FAILED, "the local stack failed",
     "`learnstream stack status` shows what runs and where the logs are"),
    ("learnstream.errors.ConfigurationError", FAILED, "the settings are invalid",
     "fix the LEARNSTREAM_* variables (docs/operations.md lists them)"),
    ("learnstream.errors.Unhealthy", FAILED, "unhealthy", ""),
    ("warehouse.errors.WarehouseEmpty", FAILED, "", "run `learnstream export` first"),
    ("warehouse.errors.TransportUnavailable", FAILED, "",
     "choose another --transport or install its package"),
    ("learner_model.errors.TokenError", FAILED, "", ""),
    ("learner_model.errors.DatasetFormatError", FAILED,
     "the dataset file is not in the expected format",
     "it needs tab-separated columns user_id item_id timestamp correct skill_id"),
    ("learnstream.errors.LearnstreamError", FAILED, "", _DEBUG),
)


def kinds(error: BaseException) -> set[str]:
    """The dotted names of ``error``'s class and every class it derives from."""
    return {f"{cls.__module__}.{cls.__qualname__}" for cls in type(error).__mro__}


#: Longest message printed whole on its one line; longer ones (a server log's tail) are cut
#: to their first line, and --debug shows them whole.
_LONGEST = 400


def one_line(text: str) -> str:
    """``text`` on one line: its lines joined, or only the first if that gets too long."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    joined = " ".join(lines)
    if len(joined) <= _LONGEST:
        return joined
    return f"{lines[0][:_LONGEST]} [{len(lines) - 1} more lines: --debug shows them]"


def explain_failure(error: BaseException, command: str = "learnstream") -> tuple[int, str]:
    """The exit status and the one line to print for an error that ended ``command`` (the
    command path, for a usage error's pointer to its help)."""
    if isinstance(error, typer.TyperException):  # the command line's own (usage) errors
        ctx = getattr(error, "ctx", None)
        where = ctx.command_path if ctx is not None else command
        message = one_line(error.format_message()).rstrip(".")
        return error.exit_code, f"{message}; see `{where} --help`"
    if isinstance(error, typer.Abort):
        return FAILED, "aborted"
    what = one_line(str(error)).rstrip(".")
    if isinstance(error, LearnstreamError):
        names = kinds(error)
        for kind, status, name, todo in ADVICE:
            if kind in names:
                what = what or type(error).__name__
                advice = "" if todo in what else f"; {todo}"
                return status, f"{f'{name}: ' if name else ''}{what}{advice}"
    if isinstance(error, OSError):  # a path that is missing or not writable, a port taken
        return FAILED, f"{what}; check the file or address it names"
    return FAILED, (f"unexpected {type(error).__name__}{f': {what}' if what else ''}; "
                    f"{_DEBUG} (this is a bug: please report it)")


def _command_path(group: TyperGroup, args: Sequence[str]) -> str:
    # Some parser errors carry no context; the verb is found from the words instead.
    path: list[str] = ["learnstream"]
    command: _click.Command = group
    for word in args:
        sub = None
        if isinstance(command, TyperGroup):
            sub = command.get_command(_click.Context(command), word)
        if word.startswith("-") and sub is None:
            continue
        if sub is None:
            break
        path.append(word)
        command = sub
    return " ".join(path)


def _is_help(error: BaseException) -> bool:
    # A bare group (``learnstream``, ``learnstream jobs``) "fails" with its help, which
    # typer has printed already (with rich) or carries as the message: help, not an error.
    return type(error).__name__ == "NoArgsIsHelpError"


@dataclass(frozen=True)
class Stage:
    """A stage as the root sees it before importing it: its verbs (the root's subcommands
    it adds) with the one line ``learnstream --help`` shows for each, and ``register``,
    which imports the stage and adds its commands to the Typer app it is given."""

    verbs: Mapping[str, str]
    register: Callable[[typer.Typer], None]


def _register_stack(target: typer.Typer) -> None:
    from devstack.cli import app as stack_app

    target.add_typer(stack_app, name="stack", help=_STACK_HELP)


def _register_ingest(target: typer.Typer) -> None:
    import ingest.cli

    ingest.cli.register(target, start_services=start_services)


def _register_collector(target: typer.Typer) -> None:
    import collector.cli

    collector.cli.register(target, start_services=start_services)


def _register_simulator(target: typer.Typer) -> None:
    import simulator.cli

    simulator.cli.register(target, kafka_sink=kafka_sink)


def _register_projections(target: typer.Typer) -> None:
    import projections.cli

    projections.cli.register(target, running=running_projections)


def _register_learner_model(target: typer.Typer) -> None:
    import learner_model.cli
    from app.privacy_cli import erase

    learner_model.cli.register(target, learner_commands={"erase": erase})


def _register_warehouse(target: typer.Typer) -> None:
    import warehouse.cli

    warehouse.cli.register(target)


_STACK_HELP = "Start, stop and inspect the local Kafka + PostgreSQL."

#: Every stage's verbs, in the order ``learnstream --help`` lists them (after the root's own
#: verbs). tests/unit/test_cli_startup.py fails when one differs from what the stage registers.
STAGES: dict[str, Stage] = {
    "ingest": Stage({
        "ingest": "Consume the event topics into the append-only log (exactly once in effect).",
        "dead-letters": "Inspect and replay refused messages.",
    }, _register_ingest),
    "collector": Stage({
        "collect": "Serve the HTTP collector: apps POST events to /v1/events.",
        "keys": "Write keys of the apps that post events.",
    }, _register_collector),
    "simulator": Stage({
        "simulate": "Generate realistic, seeded learner behaviour plus its hidden ground truth.",
    }, _register_simulator),
    "projections": Stage({
        "project": "Run every projection continuously (woken by NOTIFY, polling as a fallback).",
        "status": "Per projection: checkpoint, lag in events and seconds, last error.",
        "projections": "Read models: list and rebuild.",
    }, _register_projections),
    "learner_model": Stage({
        "serve": "Serve the read-only learner-state API (bearer tokens; OpenAPI at /docs).",
        "model": "Learner model: batch refit and benchmark.",
        "learner": "Inspect or erase a learner.",
        "tokens": "State API bearer tokens: create, list, revoke.",
    }, _register_learner_model),
    "warehouse": Stage({
        "export": "Export new log rows (exactly once) and the read models to the Parquet "
                  "warehouse.",
        "report": "Render the key plots to PNG and an HTML page (matplotlib, Agg).",
        "jobs": "Warehouse jobs (engagement, difficulty).",
    }, _register_warehouse),
    "devstack": Stage({"stack": _STACK_HELP}, _register_stack),
}

#: verb -> the stage that registers it.
STAGE_OF: dict[str, str] = {verb: name for name, stage in STAGES.items() for verb in stage.verbs}


class RootGroup(TyperGroup):
    """The root command: loads a stage when one of its verbs is asked for, runs the verb,
    then turns whatever ended it into an exit status and at most one line on stderr (plus
    the traceback with ``--debug``)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False

    def load(self, stage: str) -> None:
        """Import ``stage`` and add the commands it registers (idempotent)."""
        if all(verb in self.commands for verb in STAGES[stage].verbs):
            return
        scratch = typer.Typer()
        STAGES[stage].register(scratch)
        self.commands.update(typer.main.get_group(scratch).commands)

    def list_commands(self, ctx: _click.Context) -> list[str]:
        own = [name for name in self.commands if name not in STAGE_OF]
        return [*own, *STAGE_OF]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        stage = STAGE_OF.get(cmd_name)
        if stage is not None and cmd_name not in self.commands:
            if self._listing:  # the root's own help: a stand-in with the verb's one line
                return TyperCommand(name=cmd_name, help=STAGES[stage].verbs[cmd_name])
            self.load(stage)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        options = extra.setdefault("obj", {})
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False,
                                  windows_expand_args=windows_expand_args, **extra)
            status = result if isinstance(result, int) else 0
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception as exc:
            words = sys.argv[1:] if args is None else args
            status, message = explain_failure(exc, _command_path(self, words))
            if _is_help(exc):
                if str(exc):
                    typer.echo(exc, err=True)
            else:
                debug = isinstance(options, dict) and options.get("debug", False)
                if debug and not isinstance(exc, typer.TyperException):
                    traceback.print_exception(exc, file=sys.stderr)
                typer.echo(f"error: {message}", err=True)
        if standalone_mode:
            sys.exit(status)
        return status


app = typer.Typer(
    name="learnstream",
    help="Event-sourced analytics and learner modeling for learning apps.",
    no_args_is_help=True,
    cls=RootGroup,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    debug: bool = typer.Option(
        False, "--debug", help="On an error, print the traceback too (before the one-line "
        "message)."
    ),
) -> None:
    """Event-sourced analytics and learner modeling for learning apps."""
    if isinstance(ctx.obj, dict):
        ctx.obj["debug"] = debug


contracts_app = typer.Typer(help="Event contracts: JSON Schema and AsyncAPI.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")
app.add_typer(retention_app, name="retention")
db_app = typer.Typer(help="Database administration: the services' login users.",
                     no_args_is_help=True)
db_users_app = typer.Typer(help="Login users of the services, one per service.",
                           no_args_is_help=True)
db_app.add_typer(db_users_app, name="users")
app.add_typer(db_app, name="db")


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
    serve_example: bool = typer.Option(
        False, "--serve-example", help="Then serve the JavaScript client's example page "
        "(clients/js/examples) with the collector, a fresh write key and ingest, until Ctrl-C."
    ),
    example_port: int = typer.Option(
        8000, min=0, max=65535, help="--serve-example: the page's port (0: any free one); the "
        "collector's is settings.collector.port."
    ),
) -> None:
    """Run the whole pipeline once on simulated learners and summarise what landed.

    With --serve-example, then serve the example page of the JavaScript client against it
    (its address on one line) until Ctrl-C, and say what the page's events did. Exit 1 when
    a step of the pipeline failed (the summary's notes say which), with or without it."""
    from rich.console import Console

    from app.demo import DemoConfig, run_demo
    from learnstream.settings import load_settings

    if serve_example:
        from app.example import client_built

        if not client_built():  # before the pipeline's minutes, not after
            raise typer.BadParameter("needs the compiled JavaScript client (clients/js/dist): "
                                     "run scripts/js-setup.sh", param_hint="'--serve-example'")
    settings = load_settings()
    console = Console()
    summary = run_demo(settings, DemoConfig(learners=learners, days=days, seed=seed), console)
    if serve_example:  # the page needs only the collector and ingest, not the failed step
        from app.example import serve_example as serve

        console.rule("[bold]the JavaScript client's example page (Ctrl-C stops it)")
        served = serve(settings, console, page_port=example_port)
        console.print(
            f"example: {served.accepted:,} events accepted by the collector "
            f"({served.rejected:,} rejected, {served.forbidden:,} forbidden); "
            f"{served.ingested:,} new in the log, {served.duplicates:,} duplicates collapsed",
            soft_wrap=True, highlight=False)
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
    """For health checks: exit 0 when the servers answer and the checked services progress.

    PostgreSQL (and Kafka unless --no-kafka) must answer; --ingest and --projections also
    check that those services make progress. Exit 1 otherwise, with the reason."""
    from rich.console import Console

    from app.health import check_database, check_ingest, check_kafka, check_projections
    from learnstream.settings import load_settings

    settings = load_settings()
    console = Console()
    # Unhealthy and unreachable servers end at the root like every error: one line, exit 1.
    console.print(f"postgres {check_database(settings)}: ok")
    if kafka:
        console.print(f"kafka ({check_kafka(settings)} topics): ok")
    if ingest:
        console.print(f"ingest: {check_ingest(settings, max_stall)}")
    if projections:
        projected = check_projections(settings, running_projections(settings), max_lag)
        console.print(f"projections: {projected}")


@db_users_app.command("create")
def db_users_create(
    users: list[str] = typer.Argument(..., metavar="SERVICE=USER...", help="ingest=USER, "
                                      "projector=USER and/or api=USER."),
    password_dir: Path = typer.Option(Path("/run/secrets"), file_okay=False, help="Folder "
                                      "holding one file per user, named after it, with its "
                                      "password (Docker secrets are mounted here)."),
) -> None:
    """Create or update each service's login user, holding only that service's role
    (after `learnstream migrate`; run as a user who may create roles). Rerun to rotate."""
    from rich.console import Console

    from learnstream.db import connect
    from learnstream.logins import SERVICE_ROLES, ensure_login_user
    from learnstream.settings import load_settings, read_secret

    pairs: list[tuple[str, str]] = []
    for spec in users:
        service, sep, user = spec.partition("=")
        if not sep or service not in SERVICE_ROLES or not user:
            raise typer.BadParameter(f"{spec!r} is not SERVICE=USER with SERVICE one of "
                                     f"{', '.join(SERVICE_ROLES)}", param_hint="'SERVICE=USER'")
        pairs.append((service, user))
    passwords = {user: read_secret(password_dir / user) for _, user in pairs}
    console = Console()
    with connect(load_settings()) as conn:
        for service, user in pairs:
            done = ensure_login_user(conn, user, service, passwords[user])
            console.print(f"{user}: {done}, holds {SERVICE_ROLES[service]} only")


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


def main() -> None:
    """The console script: run the command line and exit with its status."""
    app()
