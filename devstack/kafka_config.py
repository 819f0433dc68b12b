"""What the local Kafka broker is: where its files live and the text of its configuration.

Pure functions only (no processes, no network), so tests can check the generated files.
"""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

#: Maven project that lists the broker jars; its versions are the single source of truth.
POM = Path(__file__).with_name("kafka-pom.xml")
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}

HOST = "localhost"
BROKER_PORT = 9092
CONTROLLER_PORT = 9093
NODE_ID = 1
JVM_HEAP = ("-Xmx768m", "-Xms256m")
#: Main class of the broker; also how `down` recognises our process behind a pid file.
MAIN_CLASS = "kafka.Kafka"


@dataclass(frozen=True)
class KafkaLayout:
    """Every file of a broker, under ``<stack_dir>/kafka``, and the ports and heap it runs with.

    The defaults are the local stack's; a private broker for fault tests (``testing``) takes
    free ports, a smaller heap, and the local stack's jars (``libs_dir``) instead of its own.
    """

    root: Path
    broker_port: int = BROKER_PORT
    controller_port: int = CONTROLLER_PORT
    heap: tuple[str, ...] = JVM_HEAP
    libs_dir: Path | None = None

    @classmethod
    def for_stack(cls, stack_dir: Path) -> KafkaLayout:
        return cls(stack_dir.resolve() / "kafka")

    @property
    def libs(self) -> Path:
        """Jars copied by Maven; survives `stack reset`."""
        return self.libs_dir if self.libs_dir is not None else self.root / "libs"

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.broker_port}"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def config(self) -> Path:
        return self.root / "server.properties"

    @property
    def log4j_config(self) -> Path:
        return self.root / "log4j2.properties"

    @property
    def log_file(self) -> Path:
        """The broker's own log (log4j)."""
        return self.root / "server.log"

    @property
    def console_log(self) -> Path:
        """JVM stdout/stderr: crashes and anything printed before log4j is up."""
        return self.root / "console.log"

    @property
    def pid_file(self) -> Path:
        return self.root / "kafka.pid"

    @property
    def cluster_id_file(self) -> Path:
        return self.root / "cluster.id"

    @property
    def formatted_marker(self) -> Path:
        """Written by the storage formatter; its presence means `format` already ran."""
        return self.data / "meta.properties"


def pom_version(artifact_id: str) -> str:
    """The version the pom pins for ``artifact_id`` (``${property}`` references resolved)."""
    root = ET.parse(POM).getroot()
    for dependency in root.iterfind("m:dependencies/m:dependency", _POM_NS):
        if dependency.findtext("m:artifactId", namespaces=_POM_NS) == artifact_id:
            version = dependency.findtext("m:version", default="", namespaces=_POM_NS)
            if version.startswith("${") and version.endswith("}"):
                prop = version[2:-1]
                version = root.findtext(f"m:properties/m:{prop}", default="", namespaces=_POM_NS)
            return version
    raise KeyError(f"{artifact_id} is not a dependency in {POM}")


def server_properties(layout: KafkaLayout) -> str:
    """``server.properties`` for a single-node KRaft broker that is also its own controller."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        # A static voter set: the formatter then needs no --standalone/--initial-controllers.
        "controller.quorum.voters": f"{NODE_ID}@{HOST}:{layout.controller_port}",
        "listeners": (
            f"PLAINTEXT://{HOST}:{layout.broker_port},CONTROLLER://{HOST}:{layout.controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://{layout.bootstrap}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(layout.data),
        "num.partitions": "3",
        "auto.create.topics.enable": "true",
        # One broker: every internal topic must make do with one replica.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "min.insync.replicas": "1",
        # Consumers in tests join one at a time; do not hold the first rebalance back.
        "group.initial.rebalance.delay.ms": "0",
    }
    lines = ["# Written by devstack on every start; edit kafka_config.py instead."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def log4j2_properties(layout: KafkaLayout) -> str:
    """Broker logging: INFO to a size-capped rolling file, chatty loggers at WARN."""
    log = layout.log_file
    return f"""\
# Written by devstack on every start; edit kafka_config.py instead.
status = warn
name = learnstream-kafka

appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = {log}
appender.file.filePattern = {log}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 5

rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file

logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
"""


def new_cluster_id() -> str:
    """A random cluster id in Kafka's own form (16 bytes, URL-safe base64, no padding)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        # Kafka's Uuid.randomUuid rejects ids starting with '-': the CLI would read them as flags.
        if not cluster_id.startswith("-"):
            return cluster_id


def jvm_command(java: Path, layout: KafkaLayout, main_class: str, *args: str) -> list[str]:
    """``java`` running ``main_class`` from the Maven jars with our heap and logging."""
    return [
        str(java),
        *layout.heap,
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={layout.log4j_config}",
        "-cp",
        f"{layout.libs}/*",
        main_class,
        *args,
    ]


def format_command(java: Path, layout: KafkaLayout, cluster_id: str) -> list[str]:
    storage_tool = "kafka.tools.StorageTool"
    return jvm_command(
        java, layout, storage_tool, "format", "-t", cluster_id, "-c", str(layout.config)
    )


def broker_command(java: Path, layout: KafkaLayout) -> list[str]:
    return jvm_command(java, layout, MAIN_CLASS, str(layout.config))
