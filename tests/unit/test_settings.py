"""Settings: one typed object with a part per stage, and every variable the code, the
notebooks, compose and the scripts name is one that ``Settings`` reads."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from learnstream.errors import ConfigurationError
from learnstream.settings import PROJECT_ROOT, Settings, setting_variables, with_password

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


def test_the_database_password_file_fills_a_url_without_a_password(tmp_path: Path) -> None:
    from psycopg.conninfo import conninfo_to_dict

    secret = tmp_path / "ingest_db_password"
    secret.write_text("p@ss:/w%rd\n")
    settings = Settings(database_url="postgresql://ingest_login@postgres:5432/learnstream",
                        database_password_file=secret)
    parts = conninfo_to_dict(settings.resolved_database_url)
    assert (parts["user"], parts["password"], parts["host"]) == (
        "ingest_login", "p@ss:/w%rd", "postgres")
    secret.write_text("rotated")  # read at each connection, not once
    assert conninfo_to_dict(settings.resolved_database_url)["password"] == "rotated"
    # A URL that names its password keeps it.
    assert with_password("postgresql://u:kept@h/db", "other") == "postgresql://u:kept@h/db"


def test_a_missing_or_empty_password_file_is_a_configuration_error(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql://u@h/db",
                        database_password_file=tmp_path / "absent")
    with pytest.raises(ConfigurationError, match="cannot read the secret file"):
        _ = settings.resolved_database_url
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigurationError, match="is empty"):
        _ = settings.model_copy(update={
            "database_password_file": tmp_path / "empty"}).resolved_database_url
