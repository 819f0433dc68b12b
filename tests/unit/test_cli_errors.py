"""Every verb of ``learnstream`` ends a user mistake the same way, in one place (the root
command): one line on stderr saying what is wrong and what to do, exit 2 for a usage error
and 1 for an unreachable database or broker, a traceback only with ``--debug``. Nothing
here needs a server: the settings point at closed ports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner, Result

import app.health as health_checks
import devstack.cli
from app.cli import app, one_line

CLOSED_DATABASE = "postgresql://x@127.0.0.1:1/x"
CLOSED_BROKER = "127.0.0.1:1"

#: One wrong call per verb; the test below fails when a verb is added without one.
BAD_CALLS: dict[str, list[str]] = {
    "migrate": ["migrate", "--revision"],
    "demo": ["demo", "--learners", "0"],
    "health": ["health", "surplus"],
    "ingest": ["ingest", "--until-idle", "soon"],
    "simulate": ["simulate", "--start", "2025-13-45"],
    "project": ["project", "surplus"],
    "status": ["status", "surplus"],
    "serve": ["serve", "--port", "eighty"],
    "export": ["export", "--transport", "bogus"],
    "report": ["report", "--out"],
    "stack up": ["stack", "up", "--bogus"],
    "stack down": ["stack", "down", "--bogus"],
    "stack status": ["stack", "status", "--bogus"],
    "stack reset": ["stack", "reset", "--bogus"],
    "contracts export": ["contracts", "export", "--out"],
    "db users create": ["db", "users", "create", "warehouse=someone"],
    "projections list": ["projections", "list", "surplus"],
    "projections rebuild": ["projections", "rebuild", "bogus"],
    "model fit": ["model", "fit", "--c", "strong"],
    "model evaluate": ["model", "evaluate", "--kt-file", "/nonexistent/kt.tsv"],
    "learner explain": ["learner", "explain"],
    "learner erase": ["learner", "erase", ""],
    "retention apply": ["retention", "apply", "surplus"],
    "tokens create": ["tokens", "create"],
    "tokens list": ["tokens", "list", "surplus"],
    "tokens revoke": ["tokens", "revoke"],
    "jobs run": ["jobs", "run", "bogus"],
    "dead-letters list": ["dead-letters", "list", "--status", "lost"],
    "dead-letters show": ["dead-letters", "show", "first"],
    "dead-letters replay": ["dead-letters", "replay", "--since", "yesterday"],
    "collect": ["collect", "--port", "99999"],
    "keys create": ["keys", "create"],
    "keys list": ["keys", "list", "surplus"],
    "keys revoke": ["keys", "revoke", "--app", "web", "--id", "first"],
}


def _verbs(command: object, prefix: str = "") -> list[str]:
    # Through the group's own lookup: the root loads a stage when one of its verbs is asked.
    if not isinstance(command, typer.core.TyperGroup):
        return [prefix.strip()]
    ctx = typer.Context(command)
    return [v for name in command.list_commands(ctx)
            for v in _verbs(command.get_command(ctx, name), f"{prefix} {name}")]


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings that reach nothing real, and stack commands that cannot act even if a
    wrong call were accepted by mistake."""
    monkeypatch.setenv("LEARNSTREAM_DATABASE_URL", CLOSED_DATABASE)
    monkeypatch.setenv("LEARNSTREAM_KAFKA_BOOTSTRAP", CLOSED_BROKER)
    monkeypatch.setenv("LEARNSTREAM_DEVSTACK__DIR", str(tmp_path / "stack"))
    monkeypatch.setenv("LEARNSTREAM_WAREHOUSE__DIR", str(tmp_path / "warehouse"))

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a stack command ran")

    for name in ("ensure_stack", "stack_down", "stack_reset", "stack_status"):
        monkeypatch.setattr(devstack.cli, name, refuse)


def _run(args: list[str]) -> Result:
    return CliRunner().invoke(app, args)


def _one_error_line(result: Result) -> str:
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    return lines[0]


def test_every_verb_has_a_wrong_call() -> None:
    assert sorted(_verbs(get_command(app))) == sorted(BAD_CALLS)


@pytest.mark.usefixtures("nowhere")
@pytest.mark.parametrize("verb", sorted(BAD_CALLS))
def test_a_wrong_call_is_one_line_and_exit_2(verb: str) -> None:
    result = _run(BAD_CALLS[verb])
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    assert result.stdout == ""
    # What to do: the verb's help, or (for a name that does not exist) where the names are.
    assert "--help`" in line or "`learnstream projections list`" in line, line


@pytest.mark.usefixtures("nowhere")
def test_the_issue_examples_say_what_is_wrong() -> None:
    rebuild = _one_error_line(_run(["projections", "rebuild", "bogus"]))
    assert "no projection 'bogus'" in rebuild and "learner_model" in rebuild
    start = _one_error_line(_run(["simulate", "--start", "2025-13-45"]))
    assert "'2025-13-45' is not a date YYYY-MM-DD" in start and "--start" in start


#: Verbs that need the database first; with it unreachable each must fail in one line, exit 1.
NEEDS_DATABASE = [
    ["status"],
    ["migrate"],
    ["health", "--no-kafka"],
    ["project", "--until-caught-up"],
    ["projections", "rebuild", "sessions"],
    ["model", "fit"],
    ["learner", "explain", "l1"],
    ["tokens", "create", "--name", "recommender"],
    ["tokens", "list"],
    ["tokens", "revoke", "recommender"],
    ["export"],
    ["keys", "list"],
    ["keys", "create", "--app", "web"],
    ["keys", "revoke", "--app", "web"],
]


@pytest.mark.usefixtures("nowhere")
@pytest.mark.parametrize("args", NEEDS_DATABASE, ids=" ".join)
def test_an_unreachable_database_is_one_line_and_exit_1(args: list[str]) -> None:
    result = _run(args)
    assert result.exit_code == 1, result.output
    line = _one_error_line(result)
    assert "PostgreSQL is unreachable" in line and "LEARNSTREAM_DATABASE_URL" in line


@pytest.mark.usefixtures("nowhere")
def test_db_users_create_fails_in_one_line_without_its_password_or_the_database(
        tmp_path: Path) -> None:
    missing = _run(["db", "users", "create", "ingest=ingest_login", "--password-dir",
                    str(tmp_path)])
    assert missing.exit_code == 1
    assert "cannot read the secret file" in _one_error_line(missing)
    (tmp_path / "ingest_login").write_text("s3cret\n")
    down = _run(["db", "users", "create", "ingest=ingest_login", "--password-dir",
                 str(tmp_path)])
    assert down.exit_code == 1
    assert "PostgreSQL is unreachable" in _one_error_line(down)


@pytest.mark.usefixtures("nowhere")
def test_an_unreachable_broker_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    # The database "answers", so the check goes on to Kafka (health gives up after 5 s;
    # ingest's admin client waits 30 s for the same error through the same root).
    monkeypatch.setattr(health_checks, "check_database", lambda _: "16.0")
    result = _run(["health"])
    assert result.exit_code == 1, result.output
    line = _one_error_line(result)
    assert "Kafka is unreachable" in line and "LEARNSTREAM_KAFKA_BOOTSTRAP" in line
    assert result.stdout.startswith("postgres 16.0: ok")


@pytest.mark.usefixtures("nowhere")
def test_invalid_settings_are_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEARNSTREAM_INGEST__MAX_EVENT_BYTES", "lots")
    result = _run(["status"])
    assert result.exit_code == 1
    assert "LEARNSTREAM_INGEST__MAX_EVENT_BYTES='lots'" in _one_error_line(result)


def test_long_messages_keep_their_first_line() -> None:
    assert one_line("connection refused\n\tIs the server running?") == (
        "connection refused Is the server running?")
    tail = "kafka did not start\n" + "\n".join(f"log line {i}" for i in range(200))
    assert one_line(tail) == "kafka did not start [200 more lines: --debug shows them]"


def _console_script(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The installed entry point, app.cli:main, in a fresh interpreter.
    return subprocess.run([sys.executable, "-c", "from app.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_the_console_script_and_debug(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "LEARNSTREAM_DATABASE_URL": CLOSED_DATABASE,
           "LEARNSTREAM_KAFKA_BOOTSTRAP": CLOSED_BROKER,
           "LEARNSTREAM_DEVSTACK__DIR": str(tmp_path)}
    usage = _console_script("projections", "rebuild", "bogus", env=env)
    assert usage.returncode == 2 and usage.stdout == ""
    assert len(usage.stderr.splitlines()) == 1 and "Traceback" not in usage.stderr
    down = _console_script("status", env=env)
    assert down.returncode == 1 and len(down.stderr.splitlines()) == 1
    assert "Traceback" not in down.stderr
    debug = _console_script("--debug", "status", env=env)
    assert debug.returncode == 1
    assert debug.stderr.startswith("Traceback") and "DatabaseUnavailable" in debug.stderr
    assert debug.stderr.splitlines()[-1] == down.stderr.strip()


@pytest.mark.usefixtures("nowhere")
def test_demo_serve_example_without_the_built_client_stops_before_the_pipeline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import app.demo
    import app.example

    monkeypatch.setattr(app.example, "client_built", lambda: False)
    monkeypatch.setattr(app.demo, "run_demo", lambda *a: pytest.fail("the pipeline ran"))
    result = _run(["demo", "--serve-example"])
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    assert "clients/js/dist" in line and "scripts/js-setup.sh" in line, line
