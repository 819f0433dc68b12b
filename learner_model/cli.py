"""Commands of this stage, registered on the root ``learnstream`` app: ``model fit``,
``model evaluate``, ``serve``, ``learner explain`` and ``tokens create|list|revoke``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

model_app = typer.Typer(help="Learner model: batch refit and benchmark.", no_args_is_help=True)
learner_app = typer.Typer(help="Inspect or erase a learner.", no_args_is_help=True)
tokens_app = typer.Typer(help="State API bearer tokens: create, list, revoke.",
                         no_args_is_help=True)


@model_app.command("fit")
def fit(
    c: float = typer.Option(1.0, help="Inverse L2 strength of the logistic regression."),
    theta_var: float = typer.Option(0.05, help="Prior variance of the learner residual."),
) -> None:
    """Refit item/skill/count coefficients and population preferences from the log; store
    them as the new current model version (the online updater picks it up)."""
    from rich.console import Console

    from learner_model.model.fit import FitConfig
    from learner_model.training import fit_from_log
    from learnstream.db import connect
    from learnstream.settings import load_settings

    console = Console()
    with console.status("reading the log and fitting"), connect(load_settings()) as conn:
        params, upto, rows = fit_from_log(conn, FitConfig(c=c, theta_prior_var=theta_var,
                                                          max_iter=1000))
        conn.commit()
    console.print(f"[green]model {params.version}[/] fitted on {rows:,} graded answers up to "
                  f"log position {upto:,}; {len(params.ability.item):,} items, "
                  f"{len(params.ability.skill):,} skills, "
                  f"{len(params.population_preferences):,} preference keys")


@model_app.command("evaluate")
def evaluate(
    kt_file: Path | None = typer.Option(None, exists=True, dir_okay=False,
                                        help="A KT file (user_id item_id timestamp "
                                        "correct skill_id): learners are split 80/20."),
    kt_test: Path | None = typer.Option(None, exists=True, dir_okay=False,
                                        help="Separate test file for --kt-file."),
    out: Path = typer.Option(Path("bench/results"), help="Where to write results."),
    quick: bool = typer.Option(False, help="No hyper-parameter search."),
) -> None:
    """Benchmark the model against baselines. Without --kt-file: the full benchmark
    (ASSISTments 2009, Statics 2011, a simulated run), like bench/model_quality.py."""
    import tempfile

    import polars as pl
    from rich.console import Console

    from learner_model.evaluation.benchmark import evaluate_kt, write_results
    from learner_model.evaluation.kt import read_kt_file

    console = Console()
    if kt_file is None:
        from learner_model.evaluation.benchmark import run_benchmark
        from learnstream.settings import load_settings

        kt_root = load_settings().learner_model.datasets_dir / "kt"
        run_benchmark(kt_root, out, quick=quick, console=console)
        return
    train, test = kt_file, kt_test
    if test is None:
        df = read_kt_file(kt_file)
        users = df["user_id"].unique(maintain_order=True)
        cut = int(len(users) * 0.8)
        tmp = Path(tempfile.mkdtemp())
        train, test = tmp / "train.tsv", tmp / "test.tsv"
        cols = ["user_id", "item_id", "timestamp", "correct", "skill_id"]
        df.filter(pl.col("user_id").is_in(users[:cut].implode())).select(cols).write_csv(
            train, separator="\t")
        df.filter(pl.col("user_id").is_in(users[cut:].implode())).select(cols).write_csv(
            test, separator="\t")
    with console.status("fitting and replaying"):
        res = evaluate_kt(kt_file.stem, train, test, tune_grid=not quick, progress=console.log)
    js, md = write_results([res], out, f"model_quality_{kt_file.stem}")
    console.print(md.read_text())
    console.print(f"wrote {js}")


def serve(
    host: str | None = typer.Option(None, help="Default: settings.learner_model.serve_host."),
    port: int | None = typer.Option(
        None, min=0, max=65535, help="Default: settings.learner_model.serve_port; 0: any free port."
    ),
) -> None:
    """Serve the read-only learner-state API (bearer tokens; OpenAPI at /docs)."""
    from learner_model.serving.service import bind, run
    from learnstream.settings import load_settings

    settings = load_settings()
    part = settings.learner_model
    sock = bind(host or part.serve_host, part.serve_port if port is None else port)

    def listening(url: str) -> None:
        print(f"listening on {url} (OpenAPI at {url}/docs)", flush=True)

    run(settings, sock, listening)


@learner_app.command("explain")
def explain(
    learner_id: str,
    top: int = typer.Option(10, min=0, help="Events to show (0: none)."),
) -> None:
    """A learner's state and the recent events that moved it most. A learner id with no
    events fails (exit 1): there is nothing to explain."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from learner_model.explain import explain as run_explain
    from learner_model.serving.client import learner_id_problem
    from learner_model.store import load_current_params
    from learner_model.training import learner_events
    from learnstream.db import connect
    from learnstream.settings import load_settings

    if (problem := learner_id_problem(learner_id)) is not None:
        raise typer.BadParameter(problem, param_hint="'LEARNER_ID'")
    with connect(load_settings()) as conn:
        params = load_current_params(conn)
        ex = run_explain(learner_id, learner_events(conn, learner_id), params, top)
    v = ex.view
    console = Console()
    console.print(f"[bold]{escape(learner_id)}[/] model {v.model_version}"
                  f"{' [yellow](cold start)[/]' if v.cold_start else ''}")
    console.print(f"comprehension {v.comprehension_level:.2f} (95% {v.comprehension_low:.2f}-"
                  f"{v.comprehension_high:.2f}), ability {v.ability_logit:+.2f} "
                  f"± {v.ability_sd:.2f} logits, {v.outcomes} graded answers, "
                  f"{v.data_points} events")
    console.print(f"difficulty: {ex.difficulty_text}", markup=False)
    prefs = sorted(v.preference_weights.items(), key=lambda kv: -abs(kv[1]))[:8]
    console.print("preferences: " + ", ".join(f"{k} {w:+.2f}" for k, w in prefs))
    table = Table("position", "event", "at", "Δ ability", "Δ adjustment", "Δ preferences")
    for m in ex.top:
        table.add_row(str(m.position), m.event.event_type, m.event.occurred_at.isoformat(),
                      f"{m.ability_change:+.3f}", f"{m.adjustment_change:+.3f}",
                      f"{m.preference_change:.3f}")
    console.print(table)


@tokens_app.command("create")
def tokens_create(
    name: str = typer.Option(..., "--name", help="A label saying who uses the token "
                             "(unique; e.g. recommender-prod)."),
) -> None:
    """Create a state API token and print it, once: only its SHA-256 is stored."""
    from learner_model.serving.tokens import create_token
    from learnstream.db import connect
    from learnstream.settings import load_settings

    with connect(load_settings()) as conn:
        info, token = create_token(conn, name)
    typer.echo(f"token {info.id} {info.name!r} created; it is shown only now, store it "
               "where its user reads it:", err=True)
    typer.echo(token)


@tokens_app.command("list")
def tokens_list() -> None:
    """Every token's id, name, creation and revocation time (never the token)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from learner_model.serving.tokens import list_tokens
    from learnstream.db import connect
    from learnstream.settings import load_settings

    with connect(load_settings()) as conn:
        infos = list_tokens(conn)
    table = Table("id", "name", "created", "revoked")
    for info in infos:
        table.add_row(str(info.id), escape(info.name), info.created_at.isoformat(
            timespec="seconds"), "" if info.revoked_at is None else info.revoked_at.isoformat(
            timespec="seconds"))
    Console().print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    name_or_id: str = typer.Argument(..., metavar="NAME|ID", help="The token's name or id."),
) -> None:
    """Revoke a token: the API refuses it within LEARNSTREAM_LEARNER_MODEL__TOKEN_CACHE_SECONDS
    (its cache of verified tokens)."""
    from learner_model.serving.tokens import revoke_token
    from learnstream.db import connect
    from learnstream.settings import load_settings

    settings = load_settings()
    with connect(settings) as conn:
        info = revoke_token(conn, name_or_id)
    assert info.revoked_at is not None
    typer.echo(f"token {info.id} {info.name!r} revoked at "
               f"{info.revoked_at.isoformat(timespec='seconds')}; a running API refuses it "
               f"within {settings.learner_model.token_cache_seconds:g} s")


def register(
    app: typer.Typer, *, learner_commands: dict[str, Callable[..., None]] | None = None
) -> None:
    """Add this stage's commands to ``app``; ``learner_commands`` go under ``learner`` next
    to ``explain`` (the root's ``erase``, which reaches past this stage)."""
    app.add_typer(model_app, name="model")
    learner = typer.Typer(help=learner_app.info.help, no_args_is_help=True)
    learner.registered_commands.extend(learner_app.registered_commands)
    for name, command in (learner_commands or {}).items():
        learner.command(name)(command)
    app.add_typer(learner, name="learner")
    app.add_typer(tokens_app, name="tokens")
    app.command("serve")(serve)
