"""Each service's login user (``learnstream db users create``) can do its service's work and
nothing its role does not allow, against the real PostgreSQL: ingest appends but cannot read
the log or the read models; the projector runs every projection but cannot write the log;
the API reads ``read`` but cannot write anything. Login roles are cluster-wide: each test
makes its own, uniquely named, and drops them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

from app.cli import app
from app.wiring import running_projections
from ingest.appender import append_batch
from ingest.rows import SourceOffset
from learner_model.serving.client import LearnerStateClient
from learner_model.serving.tokens import create_token
from learnstream.db import connect, libpq_url
from learnstream.log import LOG_TABLES, newest_append_sql
from learnstream.logins import SERVICE_ROLES, ensure_login_user
from learnstream.settings import Settings
from projections.runner import project_until_caught_up
from testing.databases import to_url
from testing.ingest import ingest_until_idle
from tests.examples import all_examples

LOG = [*LOG_TABLES.values(), "dead_letters", "dead_letter_replays"]
SERVICES = ("ingest", "projector", "api")


def _as(settings: Settings, user: str) -> Settings:
    url = to_url(make_conninfo(libpq_url(settings.resolved_database_url), user=user))
    return settings.model_copy(update={"database_url": url})


@pytest.fixture
def logins(db_settings: Settings) -> Iterator[dict[str, Settings]]:
    """service -> settings logging in as that service's own new login user."""
    tag = uuid.uuid4().hex[:8]
    users = {service: f"ls_{service}_{tag}" for service in SERVICES}
    with connect(db_settings, autocommit=True) as conn:
        for service, user in users.items():
            assert ensure_login_user(conn, user, service, f"pw-{tag}") == "created"
    try:
        yield {service: _as(db_settings, user) for service, user in users.items()}
    finally:
        with connect(db_settings, autocommit=True) as conn:
            for user in users.values():
                conn.execute(f'DROP OWNED BY "{user}"')
                conn.execute(f'DROP ROLE "{user}"')


def _refused(conn: psycopg.Connection[tuple[object, ...]], statement: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
        conn.execute(statement)


def _may(conn: psycopg.Connection[tuple[object, ...]], table: str) -> set[str]:
    """What the connected user may do to ``table``, by the catalog (a statement can fail
    for other reasons, e.g. a sequence it lacks, and so hide a table privilege)."""
    kinds = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
    row = conn.execute("SELECT " + ", ".join(
        f"has_table_privilege(current_user, %(t)s, '{k}')" for k in kinds), {"t": table}
    ).fetchone()
    assert row is not None
    return {k for k, allowed in zip(kinds, row, strict=True) if allowed}


def _filled(db_settings: Settings) -> None:
    with connect(db_settings) as conn:
        append_batch(conn, [(e, SourceOffset("t", 0, i)) for i, e in enumerate(all_examples())])


def test_each_login_user_holds_exactly_its_role_with_a_scram_password(
        db_settings: Settings, logins: dict[str, Settings]) -> None:
    with connect(db_settings) as conn:
        for service, settings in logins.items():
            user = settings.resolved_database_url.split("//", 1)[1].split("@", 1)[0]
            held = conn.execute(
                "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s", (user,)).fetchall()
            assert held == [(SERVICE_ROLES[service],)]
            flags = conn.execute(
                "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, "
                "left(rolpassword, 14) FROM pg_authid WHERE rolname = %s", (user,)).fetchone()
            assert flags == (True, False, False, False, "SCRAM-SHA-256$")


def test_rerunning_rotates_the_password_and_drops_extra_roles(
        db_settings: Settings, logins: dict[str, Settings]) -> None:
    user = logins["api"].resolved_database_url.split("//", 1)[1].split("@", 1)[0]
    with connect(db_settings, autocommit=True) as conn:
        before = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s",
                              (user,)).fetchone()
        conn.execute(f'GRANT learnstream_ingest TO "{user}"')
        assert ensure_login_user(conn, user, "api", "another") == "updated"
        after = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s",
                             (user,)).fetchone()
        held = conn.execute(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s", (user,)).fetchall()
    assert before != after
    assert held == [("learnstream_api",)]


def test_the_cli_creates_users_from_password_files(db_settings: Settings, tmp_path: object
                                                   ) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    user = f"ls_cli_{uuid.uuid4().hex[:8]}"
    (folder / user).write_text("from-a-secret\n")
    env = {"LEARNSTREAM_DATABASE_URL": db_settings.resolved_database_url,
           "LEARNSTREAM_KAFKA_BOOTSTRAP": db_settings.resolved_kafka_bootstrap}
    try:
        done = CliRunner().invoke(app, ["db", "users", "create", f"ingest={user}",
                                        "--password-dir", str(folder)], env=env)
        assert done.exit_code == 0, done.output
        assert f"{user}: created, holds learnstream_ingest only" in done.stdout
        superuser = db_settings.resolved_database_url.split("//", 1)[1].split("@", 1)[0]
        (folder / superuser).write_text("x")
        refused = CliRunner().invoke(app, ["db", "users", "create", f"api={superuser}",
                                           "--password-dir", str(folder)], env=env)
        assert refused.exit_code == 1
        assert "superuser or the user running this command" in refused.stderr
    finally:
        with connect(db_settings, autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{user}"')


def test_the_ingest_user_appends_but_reads_nothing(db_settings: Settings,
                                                   logins: dict[str, Settings]) -> None:
    _filled(db_settings)
    project_until_caught_up(db_settings, running_projections(db_settings))
    event = all_examples()[0].model_copy(update={"event_id": uuid.uuid4()})
    with connect(logins["ingest"]) as conn:
        assert append_batch(conn, [(event, SourceOffset("t", 0, 999))]).inserted == 1
        conn.commit()
        for table in LOG:
            assert _may(conn, f"log.{table}") == {"INSERT"}, table
            _refused(conn, f"SELECT count(*) FROM log.{table}")
            _refused(conn, f"UPDATE log.{table} SET id = id" if "dead" in table
                     else f"UPDATE log.{table} SET tx_id = tx_id")
        for statement in ("SELECT count(*) FROM read.learner_model_state",
                          "SELECT count(*) FROM read.sessions",
                          "SELECT count(*) FROM projections.checkpoints",
                          "SELECT count(*) FROM learner_model.model_versions",
                          "SELECT count(*) FROM learner_model.api_tokens",
                          "SELECT count(*) FROM warehouse.content_metrics"):
            _refused(conn, statement)
        # The one question its health check asks, through the SECURITY DEFINER function,
        # answers what the log's own query answers.
        newest = conn.execute("SELECT log.newest_append_at()").fetchone()
    with connect(db_settings) as conn:
        assert newest == conn.execute(newest_append_sql()).fetchone()
    assert newest is not None and newest[0] is not None


def test_the_projector_user_runs_every_projection_but_cannot_write_the_log(
        db_settings: Settings, logins: dict[str, Settings]) -> None:
    _filled(db_settings)
    projector = logins["projector"]
    for _ in range(100):  # other sessions on the shared server can hold new rows back briefly
        summary = project_until_caught_up(projector, running_projections(projector))
        if sum(summary.table_rows.values()) > 0:
            break
        time.sleep(0.1)
    assert sum(summary.table_rows.values()) > 0
    with connect(projector) as conn:
        assert conn.execute("SELECT count(*) FROM read.learner_model_state").fetchone()
        event = all_examples()[1].model_copy(update={"event_id": uuid.uuid4()})
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            append_batch(conn, [(event, SourceOffset("t", 0, 998))])
        for table in LOG:
            assert _may(conn, f"log.{table}") == {"SELECT"}, table
            # Privileges are checked before any row: refused here, not a NOT NULL violation.
            _refused(conn, f"INSERT INTO log.{table} DEFAULT VALUES")
            _refused(conn, f"DELETE FROM log.{table}")
        for statement in (
            "INSERT INTO learner_model.model_versions (version, trained_upto, training_rows, "
            "params) VALUES ('x', 0, 0, '{}')",
            "SELECT count(*) FROM learner_model.api_tokens",
            "CREATE TABLE log.intruder (x int)",
            "CREATE TABLE learner_model.intruder (x int)",
        ):
            _refused(conn, statement)


def test_the_api_user_reads_the_state_but_writes_nothing(db_settings: Settings,
                                                        logins: dict[str, Settings]) -> None:
    _filled(db_settings)
    project_until_caught_up(db_settings, running_projections(db_settings))
    with connect(db_settings) as conn:
        create_token(conn, "api-user-test")
    api = logins["api"]
    with LearnerStateClient(api) as client:  # the client's own SET ROLE works for this user
        assert client.get("someone").cold_start
    with connect(api) as conn:
        assert conn.execute("SELECT count(*) FROM read.learner_model_state").fetchone()
        assert conn.execute("SELECT count(*) FROM learner_model.api_tokens "
                            "WHERE revoked_at IS NULL").fetchone() == (1,)
        # Not even the log's schema (0013): the API reads the read models only.
        usage = conn.execute("SELECT has_schema_privilege(current_user, 'log', 'USAGE')")
        assert usage.fetchone() == (False,)
        for table in LOG:
            _refused(conn, f"SELECT count(*) FROM log.{table}")
            _refused(conn, f"INSERT INTO log.{table} DEFAULT VALUES")
            _refused(conn, f"DELETE FROM log.{table}")
        views = conn.execute("SELECT table_name FROM information_schema.tables "
                             "WHERE table_schema = 'read'").fetchall()
        assert views
        for (view,) in views:
            assert _may(conn, f'read."{view}"') == {"SELECT"}, view
        for table in ("projections.checkpoints", "learner_model.model_versions",
                      "learner_model.api_tokens"):
            assert not _may(conn, table) & {"INSERT", "UPDATE", "DELETE", "TRUNCATE"}, table
        for statement in (
            "DELETE FROM read.learner_model_state",
            "UPDATE read.learner_model_state SET outcomes = 0",
            "UPDATE projections.checkpoints SET position = 0",
            "INSERT INTO learner_model.api_tokens (name, token_sha256) "
            "VALUES ('mine', sha256('x'))",
            "UPDATE learner_model.api_tokens SET revoked_at = NULL",
            "SELECT name FROM learner_model.api_tokens",
            "DELETE FROM learner_model.model_versions",
            "CREATE TABLE read.intruder (x int)",
            "CREATE TABLE projection_store.intruder (x int)",
        ):
            _refused(conn, statement)


def test_the_ingest_service_runs_as_its_login_user_from_kafka_to_the_log(
        kafka_settings: Settings, logins: dict[str, Settings]) -> None:
    from app.health import check_ingest
    from ingest.emitter import produce
    from testing.ingest import logged_event_ids

    user = logins["ingest"].resolved_database_url.split("//", 1)[1].split("@", 1)[0]
    as_ingest = _as(kafka_settings, user)
    events = all_examples()
    produce(kafka_settings, events)
    summary = ingest_until_idle(as_ingest)
    assert summary.inserted == len(events) and summary.dead_lettered == 0
    assert sorted(logged_event_ids(kafka_settings)) == sorted(str(e.event_id) for e in events)
    # Its health check works with its own privileges: with a message waiting it asks the
    # log's newest append through log.newest_append_at() (a SELECT would be refused).
    assert check_ingest(as_ingest, 120.0) == "caught up"
    produce(kafka_settings, [events[0].model_copy(update={"event_id": uuid.uuid4()})])
    assert "1 messages waiting, last append" in check_ingest(as_ingest, 1e9)
