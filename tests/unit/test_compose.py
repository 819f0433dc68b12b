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


# ---- least privilege: own login users, secrets, nothing published ----

PORTS_OVERRIDE = COMPOSE.parent / "compose.ports.yaml"
#: service -> the group role its login user must hold alone.
SERVICE_OF = {"ingest": "ingest", "projector": "projector", "api": "api",
              "collector": "collector"}
#: Client apps (browsers, phones) must reach the collector: the one published service.
PUBLIC = {"collector"}


def _login(service: dict[str, Any]) -> tuple[str, str | None]:
    from urllib.parse import urlsplit

    url = urlsplit(service["environment"]["LEARNSTREAM_DATABASE_URL"])
    assert url.username, url
    return url.username, url.password


def _secrets_of(service: dict[str, Any]) -> set[str]:
    return {s if isinstance(s, str) else s["source"] for s in service.get("secrets", [])}


def test_nothing_is_published_on_the_host_unless_asked(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name in PUBLIC:
            assert len(service["ports"]) == 1, f"{name} publishes more than its one port"
        else:
            assert not service.get("ports"), f"{name} publishes {service['ports']} on the host"
        assert service.get("network_mode") != "host", name


def test_the_ports_override_publishes_on_loopback_only() -> None:
    override = yaml.safe_load(PORTS_OVERRIDE.read_text())
    published = {name: s["ports"] for name, s in override["services"].items()}
    assert set(published) == {"kafka", "postgres", "api"}
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is not loopback only"


def test_each_service_logs_in_as_its_own_user_with_a_secret_password(
        compose: dict[str, Any]) -> None:
    services = compose["services"]
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    users = {}
    for name in SERVICE_OF:
        service = services[name]
        user, password = _login(service)
        assert password is None, f"{name}: a password in its URL"
        assert user != owner, f"{name} logs in as the owner (a superuser)"
        secret_file = service["environment"]["LEARNSTREAM_DATABASE_PASSWORD_FILE"]
        (secret,) = _secrets_of(service)  # only its own password is mounted
        assert secret_file == f"/run/secrets/{secret}"
        assert secret == user  # `db users create` reads /run/secrets/<user>
        users[name] = user
    assert len(set(users.values())) == len(users), "services share a login user"


def test_db_users_creates_each_service_user_with_its_role(compose: dict[str, Any]) -> None:
    from learnstream.logins import SERVICE_ROLES

    services = compose["services"]
    job = services["db-users"]
    assert job["command"][:3] == ["db", "users", "create"]
    specs = dict(a.split("=", 1) for a in job["command"][3:] if "=" in a)
    assert set(specs) == set(SERVICE_ROLES)
    for name, service_kind in SERVICE_OF.items():
        assert specs[service_kind] == _login(services[name])[0], name
        assert services[name]["depends_on"]["db-users"]["condition"] == (
            "service_completed_successfully")
    assert set(specs.values()) <= _secrets_of(job)
    assert job["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_no_password_is_written_in_the_file(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text()
    assert "POSTGRES_PASSWORD:" not in text
    postgres = compose["services"]["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD_FILE"].startswith("/run/secrets/")
    for name, service in compose["services"].items():
        url = (service.get("environment") or {}).get("LEARNSTREAM_DATABASE_URL")
        if url:
            assert _login(service)[1] is None, f"{name}: password in LEARNSTREAM_DATABASE_URL"
    for secret in compose["secrets"].values():
        assert set(secret) <= {"file", "environment"}


def test_the_api_binds_every_interface_only_inside_the_compose_network(
        compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    assert api["environment"]["LEARNSTREAM_LEARNER_MODEL__SERVE_HOST"] == "0.0.0.0"
    assert not api.get("ports")
    assert Settings().learner_model.serve_host == "127.0.0.1"  # outside compose: loopback
