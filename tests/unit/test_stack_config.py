"""The local stack's generated configuration and decisions, checked without starting anything."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import devstack
from devstack import ComponentState, ensure_stack, stack_down, stack_reset, stack_status
from devstack import kafka as kafka_component
from devstack import postgres as postgres_component
from devstack.cli import app
from devstack.kafka_config import (
    KafkaLayout,
    broker_command,
    format_command,
    log4j2_properties,
    new_cluster_id,
    pom_version,
    server_properties,
)
from devstack.postgres import redact
from devstack.postgres_config import (
    INCLUDE_LINE,
    PostgresLayout,
    choose_bin_dir,
    installed_bin_dirs,
    postgres_conf,
    with_include,
)
from devstack.process import command_line, is_alive, owned_pid, read_pid
from learnstream.settings import Settings


def parse_properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


# --- Kafka -------------------------------------------------------------------------------


def test_server_properties_describe_a_single_node_kraft_broker(tmp_path: Path) -> None:
    layout = KafkaLayout.for_stack(tmp_path)
    props = parse_properties(server_properties(layout))

    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@localhost:9093"
    assert props["listeners"] == "PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093"
    assert props["advertised.listeners"] == "PLAINTEXT://localhost:9092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["min.insync.replicas"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["num.partitions"] == "3"
    assert props["auto.create.topics.enable"] == "true"
    assert props["log.dirs"] == str(tmp_path.resolve() / "kafka" / "data")


def test_broker_logs_to_its_file_at_info_not_debug(tmp_path: Path) -> None:
    layout = KafkaLayout.for_stack(tmp_path)
    props = parse_properties(log4j2_properties(layout))

    assert props["rootLogger.level"] == "INFO"
    assert props["appender.file.fileName"] == str(layout.log_file)
    assert "DEBUG" not in props.values()
    assert "TRACE" not in props.values()


def test_broker_command_runs_kafka_from_the_maven_jars(tmp_path: Path) -> None:
    layout = KafkaLayout.for_stack(tmp_path)
    command = broker_command(Path("/usr/bin/java"), layout)

    assert command[0] == "/usr/bin/java"
    assert {"-Xmx768m", "-Xms256m"} <= set(command)
    assert command[command.index("-cp") + 1] == f"{layout.libs}/*"
    assert f"-Dlog4j2.configurationFile={layout.log4j_config}" in command
    assert command[-2:] == ["kafka.Kafka", str(layout.config)]


def test_a_private_broker_takes_its_ports_heap_and_jars_from_its_layout(tmp_path: Path) -> None:
    shared = KafkaLayout.for_stack(tmp_path / "shared")
    layout = KafkaLayout(
        tmp_path / "private", broker_port=40001, controller_port=40002,
        heap=("-Xmx320m",), libs_dir=shared.libs,
    )
    props = parse_properties(server_properties(layout))
    command = broker_command(Path("java"), layout)

    assert layout.bootstrap == "localhost:40001"
    assert props["listeners"] == "PLAINTEXT://localhost:40001,CONTROLLER://localhost:40002"
    assert props["advertised.listeners"] == "PLAINTEXT://localhost:40001"
    assert props["controller.quorum.voters"] == "1@localhost:40002"
    assert props["log.dirs"] == str(tmp_path / "private" / "data")
    assert "-Xmx320m" in command and "-Xmx768m" not in command
    assert command[command.index("-cp") + 1] == f"{shared.libs}/*"


def test_a_private_postgres_listens_on_its_own_port(tmp_path: Path) -> None:
    layout = PostgresLayout(tmp_path / "postgres", port=40003)
    conf = parse_properties(postgres_conf(layout))

    assert conf["port"] == "40003"
    assert layout.address == "127.0.0.1:40003"
    assert layout.socket_path == tmp_path / "postgres" / "run" / ".s.PGSQL.40003"


def test_format_command_formats_with_the_given_cluster_id(tmp_path: Path) -> None:
    layout = KafkaLayout.for_stack(tmp_path)
    command = format_command(Path("java"), layout, "abc")

    storage_tool = command.index("kafka.tools.StorageTool")
    assert command[storage_tool + 1 :] == ["format", "-t", "abc", "-c", str(layout.config)]


def test_cluster_ids_have_kafkas_form() -> None:
    for _ in range(200):
        cluster_id = new_cluster_id()
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_kafka_version_comes_from_the_pom() -> None:
    assert pom_version("kafka_2.13") == "4.3.1"
    assert pom_version("kafka-server") == "4.3.1"


# --- PostgreSQL ----------------------------------------------------------------------------


def fake_debian_install(root: Path, versions: list[str]) -> Path:
    for version in versions:
        bin_dir = root / version / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "initdb").touch()
        (bin_dir / "pg_ctl").touch()
    return root


def test_newest_installed_postgres_is_chosen_for_a_new_cluster(tmp_path: Path) -> None:
    root = fake_debian_install(tmp_path, ["9.6", "13", "15"])
    (root / "16" / "bin").mkdir(parents=True)  # client-only package: no initdb/pg_ctl
    (root / "common").mkdir()

    installed = installed_bin_dirs(root)

    assert sorted(installed) == ["13", "15", "9.6"]
    assert choose_bin_dir(installed, data_version=None) == root / "15" / "bin"


def test_existing_cluster_keeps_its_major_version(tmp_path: Path) -> None:
    installed = installed_bin_dirs(fake_debian_install(tmp_path, ["13", "15"]))

    assert choose_bin_dir(installed, data_version="13") == tmp_path / "13" / "bin"
    assert choose_bin_dir(installed, data_version="12") is None


def test_no_postgres_installed(tmp_path: Path) -> None:
    assert installed_bin_dirs(tmp_path / "missing") == {}
    assert choose_bin_dir({}, data_version=None) is None


def test_postgres_settings_for_the_dev_box(tmp_path: Path) -> None:
    layout = PostgresLayout.for_stack(tmp_path)
    conf = parse_properties(postgres_conf(layout))

    assert conf["listen_addresses"] == "'127.0.0.1'"
    assert conf["port"] == "55432"
    assert conf["unix_socket_directories"] == f"'{layout.socket_dir}'"
    assert conf["max_connections"] == "200"
    assert conf["shared_buffers"] == "512MB"
    assert conf["fsync"] == "on"
    assert "wal_level" not in conf


def test_settings_file_is_included_once() -> None:
    initdb_conf = "max_connections = 100\n"
    once = with_include(initdb_conf)

    assert once.splitlines()[-1] == INCLUDE_LINE
    assert with_include(once) == once


def test_redact_hides_only_the_password() -> None:
    assert redact("postgresql://u:secret@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert redact("postgresql://u@db/x") == "postgresql://u@db/x"


# --- processes -----------------------------------------------------------------------------


def test_pid_files_are_trusted_only_for_the_expected_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "x.pid"
    assert read_pid(pid_file) is None

    pid_file.write_text(f"{os.getpid()}\n")
    assert is_alive(os.getpid())
    assert owned_pid(pid_file, "no-such-marker-in-pytests-command-line") is None
    assert owned_pid(pid_file, command_line(os.getpid()).split()[0]) == os.getpid()


# --- external servers ----------------------------------------------------------------------


@pytest.fixture
def no_local_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to start or stop a local server."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a local server was started or stopped")

    for component in (kafka_component, postgres_component):
        for action in ("start", "stop", "reset"):
            monkeypatch.setattr(component, action, forbidden)


@pytest.mark.usefixtures("no_local_servers")
def test_external_servers_are_reported_never_started_or_stopped(tmp_path: Path) -> None:
    settings = Settings(
        kafka_bootstrap="broker.example:9092",
        database_url="postgresql://app:secret@db.example/learnstream",
        devstack={"dir": tmp_path},
    )

    for status in (
        ensure_stack(settings),
        stack_status(settings),
        stack_down(settings),
        stack_reset(settings),
    ):
        assert status.kafka.state is ComponentState.EXTERNAL
        assert status.kafka.address == "broker.example:9092"
        assert status.postgres.state is ComponentState.EXTERNAL
        assert status.postgres.address == "postgresql://app:***@db.example/learnstream"
        assert status.available


def test_only_the_local_component_is_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []

    def fake_start(layout: PostgresLayout, console: object) -> object:
        started.append("postgres")
        return postgres_component.status(layout)

    monkeypatch.setattr(postgres_component, "start", fake_start)
    monkeypatch.setattr(kafka_component, "start", lambda *a: pytest.fail("kafka started"))
    settings = Settings(kafka_bootstrap="broker.example:9092", devstack={"dir": tmp_path})

    status = ensure_stack(settings)

    assert started == ["postgres"]
    assert status.kafka.state is ComponentState.EXTERNAL


def test_a_component_can_be_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []

    def fake_start(layout: PostgresLayout, console: object) -> object:
        started.append("postgres")
        return postgres_component.status(layout)

    monkeypatch.setattr(postgres_component, "start", fake_start)
    monkeypatch.setattr(kafka_component, "start", lambda *a: pytest.fail("kafka started"))

    status = ensure_stack(Settings(devstack={"dir": tmp_path}), kafka=False)

    assert started == ["postgres"]
    assert status.kafka.state is ComponentState.STOPPED


@pytest.mark.usefixtures("no_local_servers")
def test_cli_status_shows_external_servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEARNSTREAM_KAFKA_BOOTSTRAP", "broker.example:9092")
    monkeypatch.setenv("LEARNSTREAM_DATABASE_URL", "postgresql://app@db.example/learnstream")
    monkeypatch.setenv("LEARNSTREAM_DEVSTACK__DIR", str(tmp_path))

    result = CliRunner().invoke(app, ["status"])

    assert result.exit_code == 0, result.output
    assert result.output.count("external") == 2


def test_public_api() -> None:
    assert sorted(devstack.__all__) == [
        "ComponentState",
        "ComponentStatus",
        "PrerequisiteError",
        "StackError",
        "StackStatus",
        "StartError",
        "ensure_stack",
        "stack_down",
        "stack_reset",
        "stack_status",
    ]
