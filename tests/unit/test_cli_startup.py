"""``learnstream --help`` imports no stage (issue 14 item 19): the root knows each stage's verbs
and their one line statically (``app.cli.STAGES``) and loads a stage only when one of its
verbs runs or its help is asked. The static table cannot drift from what the stages
register, every verb's help still works, and the root names (not imports) the stages'
kinds of error."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from app.cli import ADVICE, STAGES, RootGroup, app
from learnstream.errors import LearnstreamError

STAGE_PACKAGES = ["ingest", "simulator", "projections", "learner_model", "warehouse", "devstack"]
#: Third-party packages only a stage needs; none may load for the root's help.
HEAVY = ["faststream", "polars", "sklearn", "duckdb", "numpy", "sqlalchemy", "psycopg",
         "fastapi", "uvicorn", "confluent_kafka", "aiokafka", "matplotlib"]


def _one_line(help_text: str | None) -> str:
    # What typer's help panel shows for a command: its help's first paragraph on one line.
    return inspect.cleandoc(help_text or "").split("\n\n")[0].replace("\n", " ")


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_the_static_verbs_are_what_the_stage_registers(stage: str) -> None:
    scratch = typer.Typer()
    STAGES[stage].register(scratch)
    registered = typer.main.get_group(scratch).commands
    assert {name: _one_line(c.help) for name, c in registered.items()} == dict(
        STAGES[stage].verbs)


def test_no_verb_is_claimed_twice() -> None:
    own = get_root().commands
    verbs = [verb for stage in STAGES.values() for verb in stage.verbs]
    assert len(verbs) == len(set(verbs))
    assert not set(verbs) & set(own), "a stage verb is also defined eagerly by the root"


def get_root() -> RootGroup:
    root = typer.main.get_command(app)
    assert isinstance(root, RootGroup)
    return root


def _help(root: RootGroup, capsys: pytest.CaptureFixture[str]) -> str:
    assert root.main(["--help"], prog_name="learnstream", standalone_mode=False) == 0
    return capsys.readouterr().out


def test_the_lazy_help_is_the_help_of_every_stage_loaded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lazy = _help(get_root(), capsys)
    loaded = get_root()
    for stage in STAGES:
        loaded.load(stage)
    assert set(loaded.commands) == set(loaded.list_commands(typer.Context(loaded)))
    assert _help(loaded, capsys) == lazy
    assert "dead-letters" in lazy and "serve" in lazy


def _loaded_after(code: str) -> list[str]:
    """Which stage and heavy packages a fresh interpreter holds after running ``code``."""
    watched = json.dumps([*STAGE_PACKAGES, *HEAVY, "learner_model.projection"])
    script = (
        f"import sys, io, contextlib\n{code}\n"
        f"print(__import__('json').dumps([m for m in {watched} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_root_loads_no_stage() -> None:
    assert _loaded_after("import app.cli") == []


def test_the_root_help_loads_no_stage() -> None:
    code = (
        "from app.cli import main\n"
        "sys.argv = ['learnstream', '--help']\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main()\n    except SystemExit as exit:\n        assert exit.code == 0"
    )
    assert _loaded_after(code) == []


def test_a_verb_loads_only_its_own_stage() -> None:
    code = (
        "from app.cli import main\n"
        "sys.argv = ['learnstream', 'simulate', '--help']\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n        main()\n    except SystemExit as exit:\n        assert exit.code == 0\n"
        "assert '--learners' in out.getvalue()"
    )
    loaded = _loaded_after(code)
    assert "simulator" in loaded
    assert not {"warehouse", "learner_model", "polars", "duckdb", "sklearn"} & set(loaded)


def _paths(command: typer.core.TyperGroup, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    ctx = typer.Context(command)
    found: list[tuple[str, ...]] = []
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        found.append((*prefix, name))
        if isinstance(sub, typer.core.TyperGroup):
            found.extend(_paths(sub, (*prefix, name)))
    return found


PATHS = _paths(get_root())


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_every_verb_has_its_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert f"learnstream {' '.join(path)}" in result.output


@pytest.mark.parametrize("kind", [row[0] for row in ADVICE])
def test_every_advised_error_is_a_class_of_the_tree(kind: str) -> None:
    module, _, name = kind.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type) and issubclass(cls, LearnstreamError)
