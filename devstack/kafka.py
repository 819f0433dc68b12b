"""The local Apache Kafka broker (KRaft, one node) run straight from Maven's jars with the JDK."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.errors import KafkaError
from rich.console import Console

from devstack import process
from devstack.errors import PrerequisiteError, StartError
from devstack.kafka_config import (
    HOST,
    MAIN_CLASS,
    POM,
    KafkaLayout,
    broker_command,
    format_command,
    log4j2_properties,
    new_cluster_id,
    pom_version,
    server_properties,
)
from devstack.status import ComponentState, ComponentStatus

NAME = "kafka"
READY_TIMEOUT_SECONDS = 90.0
STOP_GRACE_SECONDS = 30.0

# The pom's log4j-slf4j2-impl binds SLF4J 2.x, but Kafka 4.3 pulls slf4j-api 1.7.36, which
# only finds 1.x bindings: the broker would silently log nothing ("NOP logger"). Swap in the
# SLF4J 1.x binding of the same log4j release (it is what Kafka's own distribution ships).
# The two jars define the same classes, so the 2.x one must not be on the classpath at all.
_EXCLUDED_ARTIFACTS = "log4j-slf4j2-impl"
_STAMP = ".fetched-from"


def external_status(bootstrap: str) -> ComponentStatus:
    return ComponentStatus(NAME, ComponentState.EXTERNAL, address=bootstrap)


def status(layout: KafkaLayout) -> ComponentStatus:
    pid = _running_pid(layout)
    return ComponentStatus(
        NAME,
        ComponentState.RUNNING if pid else ComponentState.STOPPED,
        address=layout.bootstrap,
        pid=pid,
        data_dir=layout.data,
        log_file=layout.log_file,
    )


def start(layout: KafkaLayout, console: Console) -> ComponentStatus:
    """Start the broker unless it already runs; return once it answers metadata requests."""
    pid = _running_pid(layout)
    if pid:
        console.print(f"Kafka already running (pid {pid}) on {layout.bootstrap}")
        _wait_until_ready(layout)
        return status(layout)
    for port in (layout.broker_port, layout.controller_port):
        if process.port_open(HOST, port):
            raise StartError(
                f"{HOST}:{port} is taken by a process this stack did not start. Stop it, or "
                "point LEARNSTREAM_KAFKA_BOOTSTRAP at it to use it as an external broker."
            )
    java = _java()
    _ensure_jars(layout, console)
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.config.write_text(server_properties(layout))
    layout.log4j_config.write_text(log4j2_properties(layout))
    if not layout.formatted_marker.exists():
        _format_storage(java, layout, console)

    console.print(f"Starting Kafka {pom_version('kafka_2.13')} on {layout.bootstrap} ...")
    pid = process.spawn_detached(broker_command(java, layout), layout.root, layout.console_log)
    layout.pid_file.write_text(f"{pid}\n")
    _wait_until_ready(layout)
    return status(layout)


def stop(layout: KafkaLayout) -> None:
    """Stop the broker this stack started (found by its pid file); no-op if none runs."""
    pid = _running_pid(layout)
    if pid:
        # SIGTERM makes Kafka shut down cleanly (flush logs, close the metadata log), so the
        # next start skips log recovery.
        process.terminate(pid, STOP_GRACE_SECONDS)
    layout.pid_file.unlink(missing_ok=True)


def kill(layout: KafkaLayout) -> None:
    """SIGKILL the broker (a crash, for fault tests): no flush, no clean metadata close."""
    pid = _running_pid(layout)
    if pid:
        process.kill(pid)
        # The leader thread turns zombie before the JVM's other threads are gone; the
        # listeners close only with the last of them, and a restart needs the ports free.
        process.wait_for(
            lambda: not any(
                process.port_open(HOST, port)
                for port in (layout.broker_port, layout.controller_port)
            ),
            STOP_GRACE_SECONDS,
        )
    layout.pid_file.unlink(missing_ok=True)


def reset(layout: KafkaLayout) -> None:
    """Stop, then delete data, logs and cluster id; keep the downloaded jars."""
    stop(layout)
    shutil.rmtree(layout.data, ignore_errors=True)
    for leftover in (layout.cluster_id_file, layout.console_log, *layout.root.glob("server.log*")):
        leftover.unlink(missing_ok=True)


def answers(bootstrap: str) -> bool:
    """True if a broker at ``bootstrap`` accepts a connection and returns cluster metadata."""
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    if not process.port_open(host, int(port)):
        return False
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, client_id="learnstream-stack", request_timeout_ms=5000
        )
    except (KafkaError, OSError):
        return False
    try:
        admin.describe_cluster()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def _running_pid(layout: KafkaLayout) -> int | None:
    return process.owned_pid(layout.pid_file, f"{MAIN_CLASS} {layout.config}")


def _wait_until_ready(layout: KafkaLayout) -> None:
    def died() -> bool:
        return _running_pid(layout) is None

    if process.wait_for(
        lambda: answers(layout.bootstrap), READY_TIMEOUT_SECONDS, interval=0.25, give_up=died
    ):
        return
    if died():
        reason = "exited during startup"
    else:
        reason = f"did not answer within {READY_TIMEOUT_SECONDS:.0f} s and was stopped"
        stop(layout)
    raise StartError(
        f"Kafka {reason}.\n--- {layout.log_file} ---\n{process.log_tail(layout.log_file)}"
        f"\n--- {layout.console_log} ---\n{process.log_tail(layout.console_log)}"
    )


def _java() -> Path:
    found = shutil.which("java")
    if found is None:
        raise PrerequisiteError(
            "No `java` on PATH: the local Kafka needs a JDK 17+ (Debian: apt-get install -y "
            "openjdk-17-jre-headless)."
        )
    return Path(found)


def _extra_artifact() -> str:
    return f"org.apache.logging.log4j:log4j-slf4j-impl:{pom_version('log4j-core')}"


def _fetch_stamp() -> str:
    """Identifies what a jar folder was fetched from; a changed pom means fetch again."""
    digest = hashlib.sha256(POM.read_bytes())
    digest.update(f"{_EXCLUDED_ARTIFACTS} {_extra_artifact()}".encode())
    return digest.hexdigest()


def _ensure_jars(layout: KafkaLayout, console: Console) -> None:
    stamp = _fetch_stamp()
    stamp_file = layout.libs / _STAMP
    if stamp_file.exists() and stamp_file.read_text().strip() == stamp:
        return
    mvn = shutil.which("mvn")
    if mvn is None:
        raise PrerequisiteError(
            "No `mvn` on PATH: the local Kafka fetches its jars with Maven "
            "(Debian: apt-get install -y maven)."
        )
    # Fetch into a side folder and rename at the end, so an interrupted download never
    # leaves a half-filled libs/ that looks complete.
    partial = layout.libs.with_name("libs.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    command = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        "dependency:copy",
        f"-DoutputDirectory={partial}",
        "-DincludeScope=runtime",
        f"-DexcludeArtifactIds={_EXCLUDED_ARTIFACTS}",
        f"-Dartifact={_extra_artifact()}",
    ]
    version = pom_version("kafka_2.13")
    with console.status(f"Fetching Kafka {version} jars from Maven Central ..."):
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PrerequisiteError(
            f"Maven could not fetch the Kafka jars (exit {result.returncode}):\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    (partial / _STAMP).write_text(stamp + "\n")
    shutil.rmtree(layout.libs, ignore_errors=True)
    partial.rename(layout.libs)
    jars = len(list(layout.libs.glob("*.jar")))
    console.print(f"Fetched {jars} Kafka {version} jars into {layout.libs}")


def _format_storage(java: Path, layout: KafkaLayout, console: Console) -> None:
    if layout.cluster_id_file.exists():
        cluster_id = layout.cluster_id_file.read_text().strip()
    else:
        cluster_id = new_cluster_id()
        layout.cluster_id_file.write_text(cluster_id + "\n")
    console.print(f"Formatting Kafka storage in {layout.data} (cluster id {cluster_id})")
    result = subprocess.run(
        format_command(java, layout, cluster_id),
        cwd=layout.root,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StartError(f"Formatting Kafka storage failed:\n{result.stdout}{result.stderr}")
