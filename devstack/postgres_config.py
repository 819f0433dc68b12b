"""What the local PostgreSQL server is: its binaries, its files and its configuration.

Pure functions only (no processes, no network), so tests can check the choices made here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from learnstream.settings import LOCAL_DATABASE_URL, LOCAL_PG_PORT

#: Where Debian's postgresql-<version> packages put their server binaries (<version>/bin).
DEBIAN_PG_ROOT = Path("/usr/lib/postgresql")
LISTEN_ADDRESS = "127.0.0.1"
#: The bootstrap superuser initdb creates; only used to create the application role.
BOOTSTRAP_USER = "postgres"
#: Unix socket paths longer than this do not fit in sockaddr_un and postgres refuses to start.
MAX_SOCKET_PATH = 107

_local = conninfo_to_dict(LOCAL_DATABASE_URL)
#: Role and database of the local URL: the local owner/admin (migrations add restricted roles).
ADMIN_ROLE = str(_local["user"])
DATABASE = str(_local["dbname"])


@dataclass(frozen=True)
class PostgresLayout:
    """Every file of the local server, under ``<stack_dir>/postgres``."""

    root: Path
    port: int = LOCAL_PG_PORT

    @classmethod
    def for_stack(cls, stack_dir: Path) -> PostgresLayout:
        return cls(stack_dir.resolve() / "postgres")

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def socket_path(self) -> Path:
        return self.socket_dir / f".s.PGSQL.{self.port}"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def pid_file(self) -> Path:
        """Written by the postmaster itself; first line is its pid."""
        return self.data / "postmaster.pid"

    @property
    def version_file(self) -> Path:
        """Written by initdb: the major version that owns the data directory."""
        return self.data / "PG_VERSION"

    @property
    def conf_file(self) -> Path:
        """Our settings, included from the postgresql.conf that initdb wrote."""
        return self.data / "learnstream.conf"

    @property
    def address(self) -> str:
        return f"{LISTEN_ADDRESS}:{self.port}"


def _version_key(name: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return None


def installed_bin_dirs(pg_root: Path = DEBIAN_PG_ROOT) -> dict[str, Path]:
    """Server binary folders by major version ('15' -> /usr/lib/postgresql/15/bin)."""
    if not pg_root.is_dir():
        return {}
    return {
        entry.name: entry / "bin"
        for entry in pg_root.iterdir()
        if _version_key(entry.name) is not None
        and (entry / "bin" / "initdb").exists()
        and (entry / "bin" / "pg_ctl").exists()
    }


def choose_bin_dir(installed: dict[str, Path], data_version: str | None) -> Path | None:
    """The binaries to run: the data directory's own major version if it has one, else the newest.

    A data directory only opens with the major version that created it, so after installing
    a newer PostgreSQL an existing cluster keeps its version (None if that one is gone).
    """
    if data_version is not None:
        return installed.get(data_version)
    usable = [version for version in installed if _version_key(version) is not None]
    if not usable:
        return None
    return installed[max(usable, key=lambda version: _version_key(version) or ())]


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def postgres_conf(layout: PostgresLayout) -> str:
    """Server settings for a 2-core / 24 GiB development machine."""
    return f"""\
# Written by devstack on every start; edit postgres_config.py instead.
listen_addresses = {_quote(LISTEN_ADDRESS)}
port = {layout.port}
unix_socket_directories = {_quote(str(layout.socket_dir))}
max_connections = 200
shared_buffers = 512MB
effective_cache_size = 8GB
maintenance_work_mem = 256MB
work_mem = 16MB
# Durability stays as in production so that write benchmarks mean something.
fsync = on
"""


INCLUDE_LINE = "include_if_exists = 'learnstream.conf'"


def with_include(postgresql_conf: str) -> str:
    """initdb's postgresql.conf with our settings file included last (so it wins), once."""
    if INCLUDE_LINE in postgresql_conf.splitlines():
        return postgresql_conf
    return postgresql_conf.rstrip("\n") + "\n\n" + INCLUDE_LINE + "\n"
