"""Settings: one typed object with a part per stage, and every variable the code, the
notebooks, compose and the scripts name is one that ``Settings`` reads."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from learnstream.settings import PROJECT_ROOT, Settings, setting_variables

ROOT = Path(__file__).resolve().parents[2]
VARIABLE = re.compile(rb"LEARNSTREAM_[A-Z0-9_]*[A-Z0-9]")


def test_parts_are_read_from_nested_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEARNSTREAM_INGEST__BATCH_MAX_RECORDS", "17")
    monkeypatch.setenv("LEARNSTREAM_PROJECTIONS__POLL_MS", "5")
    settings = Settings()
    assert settings.ingest.batch_max_records == 17
    assert settings.projections.poll_ms == 5


def test_with_part_replaces_only_the_named_fields() -> None:
    base = Settings()
    changed = base.with_part(ingest={"batch_max_records": 3}, topic_namespace="x.")
    assert changed.ingest.batch_max_records == 3
    assert changed.ingest.max_event_bytes == base.ingest.max_event_bytes
    assert changed.topic_namespace == "x."
    assert base.ingest.batch_max_records != 3


def test_default_paths_do_not_depend_on_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.devstack.dir == PROJECT_ROOT / ".stack"
    assert settings.warehouse.dir.is_relative_to(PROJECT_ROOT)


def test_every_variable_named_in_the_tree_is_a_setting() -> None:
    known = {name for name, _, _ in setting_variables()}
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    unknown: set[str] = set()
    for name in filter(None, files):
        path = ROOT / name.decode()
        if path.suffix in {".py", ".ipynb", ".yaml", ".sh", ".md", ".ini"} and path.is_file():
            for match in VARIABLE.findall(path.read_bytes()):
                variable = match.decode()
                # A prefix spelled in prose ("LEARNSTREAM_INGEST__*") names a part.
                if variable not in known and not any(k.startswith(variable + "__") for k in known):
                    unknown.add(f"{name.decode()}: {variable}")
    assert not unknown, sorted(unknown)
