"""The local PostgreSQL server, run from Debian's packages on a data directory in the stack."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from rich.console import Console

from devstack import process
from devstack.errors import PrerequisiteError, StackError, StartError
from devstack.postgres_config import (
    ADMIN_ROLE,
    BOOTSTRAP_USER,
    DATABASE,
    DEBIAN_PG_ROOT,
    LISTEN_ADDRESS,
    MAX_SOCKET_PATH,
    PostgresLayout,
    choose_bin_dir,
    installed_bin_dirs,
    postgres_conf,
    with_include,
)
from devstack.status import ComponentState, ComponentStatus

NAME = "postgres"
#: Debian's system user that owns server files; postgres refuses to run as root.
SERVICE_USER = "postgres"
START_TIMEOUT_SECONDS = 60
StopMode = Literal["fast", "immediate"]


def external_status(database_url: str) -> ComponentStatus:
    return ComponentStatus(NAME, ComponentState.EXTERNAL, address=redact(database_url))


def status(layout: PostgresLayout) -> ComponentStatus:
    pid = _running_pid(layout)
    return ComponentStatus(
        NAME,
        ComponentState.RUNNING if pid else ComponentState.STOPPED,
        address=layout.address,
        pid=pid,
        data_dir=layout.data,
        log_file=layout.log_file,
    )


def start(layout: PostgresLayout, console: Console) -> ComponentStatus:
    """Initialise (once) and start the server, create the admin role and database, wait for it."""
    run_as = _run_as_prefix()
    _prepare_directories(layout)
    pid = _running_pid(layout)
    if pid:
        console.print(f"PostgreSQL already running (pid {pid}) on {layout.address}")
    else:
        bin_dir = _bin_dir(layout, console)
        if not layout.version_file.exists():
            _initdb(layout, bin_dir, run_as, console)
        _write_config(layout)
        if process.port_open(LISTEN_ADDRESS, layout.port):
            raise StartError(
                f"{layout.address} is taken by a server this stack did not start. Stop it, or "
                "point LEARNSTREAM_DATABASE_URL at it to use it as an external database."
            )
        console.print(f"Starting PostgreSQL {bin_dir.parent.name} on {layout.address} ...")
        _pg_ctl(
            bin_dir,
            run_as,
            "start",
            "-D",
            str(layout.data),
            "-l",
            str(layout.log_file),
            "-w",
            "-t",
            str(START_TIMEOUT_SECONDS),
            failure=f"PostgreSQL did not start (log: {layout.log_file})",
            log=layout.log_file,
        )
    _ensure_role_and_database(layout)
    return status(layout)


def stop(layout: PostgresLayout, mode: StopMode = "fast") -> None:
    """Shut down the server on our own data directory; no-op if it is not running.

    ``fast`` (the stack's): roll back open transactions and disconnect clients instead of
    waiting for them. ``immediate`` (fault tests): a crash in effect, the next start runs
    WAL recovery.
    """
    if not _running_pid(layout):
        return
    bin_dir = choose_bin_dir(installed_bin_dirs(), _data_version(layout))
    if bin_dir is None:
        raise PrerequisiteError(f"No pg_ctl found to stop the server on {layout.data}.")
    _pg_ctl(
        bin_dir,
        _run_as_prefix(),
        "stop",
        "-D",
        str(layout.data),
        "-m",
        mode,
        "-w",
        "-t",
        str(START_TIMEOUT_SECONDS),
        failure="PostgreSQL did not stop",
        log=layout.log_file,
    )


def reset(layout: PostgresLayout) -> None:
    """Stop, then delete the data directory and log."""
    stop(layout)
    shutil.rmtree(layout.data, ignore_errors=True)
    layout.log_file.unlink(missing_ok=True)


def answers(database_url: str) -> bool:
    """True if ``select 1`` succeeds at ``database_url``."""
    try:
        with psycopg.connect(database_url, connect_timeout=3) as conn:
            return conn.execute("select 1").fetchone() == (1,)
    except psycopg.Error:
        return False


def redact(database_url: str) -> str:
    """The URL without its password, for printing."""
    parts = urlsplit(database_url)
    if parts.password is None:
        return database_url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _running_pid(layout: PostgresLayout) -> int | None:
    # The postmaster is started as `postgres -D <data>`, so the data path in its command line
    # tells our server from an unrelated process that reused the pid of a stale pid file.
    return process.owned_pid(layout.pid_file, str(layout.data))


def _data_version(layout: PostgresLayout) -> str | None:
    try:
        return layout.version_file.read_text().strip()
    except FileNotFoundError:
        return None


def _bin_dir(layout: PostgresLayout, console: Console) -> Path:
    data_version = _data_version(layout)
    found = choose_bin_dir(installed_bin_dirs(), data_version)
    if found is not None:
        return found
    if data_version is not None:
        raise PrerequisiteError(
            f"{layout.data} was created by PostgreSQL {data_version}, which is not installed "
            f"(apt-get install -y postgresql-{data_version}), or run `learnstream stack reset`."
        )
    if os.geteuid() != 0:
        raise PrerequisiteError(
            f"No PostgreSQL server under {DEBIAN_PG_ROOT}. Install it: "
            "sudo apt-get install -y postgresql"
        )
    _apt_install_postgresql(console)
    found = choose_bin_dir(installed_bin_dirs(), None)
    if found is None:
        raise PrerequisiteError(f"apt-get installed postgresql but {DEBIAN_PG_ROOT} is empty.")
    return found


def _apt_install_postgresql(console: Console) -> None:
    console.print(
        "[bold]PostgreSQL is not installed; installing Debian's `postgresql` package "
        "(apt-get update && apt-get install -y postgresql).[/bold]"
    )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        with console.status(" ".join(command) + " ..."):
            result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise PrerequisiteError(
                f"`{' '.join(command)}` failed (exit {result.returncode}):\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )


def _service_account() -> pwd.struct_passwd | None:
    """The account the server runs as: None means the current user (we are not root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise PrerequisiteError(
            f"Running as root, but there is no `{SERVICE_USER}` system user to run PostgreSQL "
            "as (postgres refuses to run as root). Install Debian's postgresql package."
        ) from None


def _run_as_prefix() -> list[str]:
    return [] if _service_account() is None else ["runuser", "-u", SERVICE_USER, "--"]


def _traversable_by(path: Path, account: pwd.struct_passwd) -> bool:
    info = path.stat()
    if info.st_uid == account.pw_uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid in os.getgrouplist(account.pw_name, account.pw_gid):
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def _prepare_directories(layout: PostgresLayout) -> None:
    if len(str(layout.socket_path)) > MAX_SOCKET_PATH:
        raise PrerequisiteError(
            f"Socket path {layout.socket_path} is longer than {MAX_SOCKET_PATH} bytes; "
            "set LEARNSTREAM_DEVSTACK__DIR to a shorter folder."
        )
    for folder in (layout.root, layout.data, layout.socket_dir):
        folder.mkdir(parents=True, exist_ok=True)
    layout.data.chmod(0o700)  # initdb and the server insist on a private data directory
    account = _service_account()
    if account is None:
        return
    blocked = [p for p in layout.root.parents if not _traversable_by(p, account)]
    if blocked:
        raise PrerequisiteError(
            f"PostgreSQL runs as `{SERVICE_USER}` (we are root), which cannot enter "
            f"{blocked[0]}. Make it traversable (chmod o+x {blocked[0]}) or set "
            "LEARNSTREAM_DEVSTACK__DIR to a folder outside it."
        )
    for path in (layout.root, layout.data, layout.socket_dir):
        os.chown(path, account.pw_uid, account.pw_gid)


def _give_to_service_account(path: Path) -> None:
    account = _service_account()
    if account is not None:
        os.chown(path, account.pw_uid, account.pw_gid)


def _initdb(layout: PostgresLayout, bin_dir: Path, run_as: list[str], console: Console) -> None:
    if any(layout.data.iterdir()):
        raise StartError(
            f"{layout.data} is not empty but holds no cluster (no PG_VERSION); "
            "run `learnstream stack reset`."
        )
    console.print(f"Initialising PostgreSQL data directory {layout.data}")
    command = [
        *run_as,
        str(bin_dir / "initdb"),
        "-D",
        str(layout.data),
        "--auth=trust",
        "-U",
        BOOTSTRAP_USER,
        "--encoding=UTF8",
        "--locale=C",
    ]
    result = subprocess.run(command, cwd=layout.root, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StartError(f"initdb failed (exit {result.returncode}):\n{result.stderr[-3000:]}")


def _write_config(layout: PostgresLayout) -> None:
    layout.conf_file.write_text(postgres_conf(layout))
    _give_to_service_account(layout.conf_file)
    main_conf = layout.data / "postgresql.conf"
    main_conf.write_text(with_include(main_conf.read_text()))


def _pg_ctl(bin_dir: Path, run_as: list[str], *args: str, failure: str, log: Path) -> None:
    result = subprocess.run(
        [*run_as, str(bin_dir / "pg_ctl"), *args],
        cwd=log.parent,  # the server account may not be able to enter our working directory
        capture_output=True,
        text=True,
        check=False,
        start_new_session=True,  # the server outlives this process and the terminal's Ctrl-C
    )
    if result.returncode != 0:
        raise StartError(
            f"{failure} (pg_ctl exit {result.returncode}):\n{result.stdout}{result.stderr}"
            f"\n--- {log} ---\n{process.log_tail(log)}"
        )


def _ensure_role_and_database(layout: PostgresLayout) -> None:
    """Create the admin role and its database if missing (safe to repeat)."""
    admin_url = f"postgresql://{BOOTSTRAP_USER}@{layout.address}/postgres"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            if not conn.execute(
                "select 1 from pg_roles where rolname = %s", [ADMIN_ROLE]
            ).fetchone():
                conn.execute(
                    sql.SQL("create role {} login superuser").format(sql.Identifier(ADMIN_ROLE))
                )
            if not conn.execute(
                "select 1 from pg_database where datname = %s", [DATABASE]
            ).fetchone():
                # CREATE DATABASE cannot run inside a transaction block, hence autocommit.
                conn.execute(
                    sql.SQL("create database {} owner {}").format(
                        sql.Identifier(DATABASE), sql.Identifier(ADMIN_ROLE)
                    )
                )
    except psycopg.Error as error:
        raise StackError(f"Could not create role/database on {layout.address}: {error}") from error
    url = f"postgresql://{ADMIN_ROLE}@{layout.address}/{DATABASE}"
    if not answers(url):
        raise StartError(f"PostgreSQL runs but {url} does not answer.")
