"""compose.yaml stays in step with the code: services, health checks, settings, commands."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from learnstream.settings import Settings, setting_variables

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"
DOCKERFILE = COMPOSE.parent / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def test_declares_the_stack_and_the_services(compose: dict[str, Any]) -> None:
    assert {"kafka", "postgres", "migrate", "ingest", "projector", "api", "collector"} <= set(
        compose["services"]
    )


def test_long_running_services_have_health_checks(compose: dict[str, Any]) -> None:
    for name in ("kafka", "postgres", "ingest", "projector", "api", "collector"):
        assert "healthcheck" in compose["services"][name], name


def test_images_are_pinned_to_a_release(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        if service.get("build"):
            continue  # built from this checkout's Dockerfile
        tag = image.partition(":")[2]
        assert tag and tag != "latest", f"{name}: {image} floats"
        release = re.fullmatch(r"\d+\.\d+(\.\d+)?(-[a-z0-9]+)?", tag)
        assert release, f"{name}: {image} is not a release"
    base = re.search(r"^FROM (\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    assert base is not None
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-[a-z]+", base.group(1)), base.group(1)


def test_kafka_keeps_its_data_on_the_volume(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    mounted = {v.split(":", 1)[1] for v in kafka["volumes"]}
    assert kafka["environment"]["KAFKA_LOG_DIRS"] in mounted


def test_service_health_checks_test_progress_not_just_connections(
    compose: dict[str, Any],
) -> None:
    assert "--ingest" in compose["services"]["ingest"]["healthcheck"]["test"]
    assert "--projections" in compose["services"]["projector"]["healthcheck"]["test"]


def test_the_collector_is_checked_for_kafka_on_its_published_port(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    collector = compose["services"]["collector"]
    env = collector["environment"]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()  # every value parses into its setting (the origins are a JSON list)
    assert settings.collector.host == "0.0.0.0"
    assert settings.collector.cors_origins == ["http://localhost:3000"]
    port = settings.collector.port
    assert f"{port}:{port}" in collector["ports"]
    check = " ".join(collector["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/readyz" in check  # ready (Kafka answers), not only alive
    assert collector["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_kafka_runs_kraft_without_zookeeper(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "zookeeper" not in compose["services"]


def test_every_learnstream_variable_is_a_setting(compose: dict[str, Any]) -> None:
    fields = {name for name, _, _ in setting_variables()}
    for name, service in compose["services"].items():
        for variable in service.get("environment") or {}:
            if variable.startswith("LEARNSTREAM_"):
                assert variable in fields, f"{name}: {variable} is not a Settings field"


def test_both_stack_settings_are_set_so_nothing_local_starts(compose: dict[str, Any]) -> None:
    env = compose["services"]["ingest"]["environment"]
    settings = Settings(
        kafka_bootstrap=env["LEARNSTREAM_KAFKA_BOOTSTRAP"],
        database_url=env["LEARNSTREAM_DATABASE_URL"],
    )
    assert not settings.uses_local_stack


def test_service_commands_are_real_cli_commands(compose: dict[str, Any]) -> None:
    import typer
    from typer.main import get_command

    from app.cli import app

    root = get_command(app)
    # Every verb the root lists (stages load on demand, so not all are in root.commands yet).
    known = set(root.list_commands(typer.Context(root)))  # type: ignore[attr-defined]
    for name, service in compose["services"].items():
        command = service.get("command")
        if command and service.get("build"):
            assert command[0] in known, f"{name} runs unknown command {command[0]!r}"
        test = (service.get("healthcheck") or {}).get("test", [])
        if len(test) > 2 and test[0] == "CMD" and test[1] == "learnstream":
            assert test[2] in known, f"{name} health check runs unknown command {test[2]!r}"


@pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose is not installed here"
)
def test_docker_compose_accepts_the_file() -> None:
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
