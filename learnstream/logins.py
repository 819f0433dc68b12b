"""Login users of the services: each logs in as its own user holding exactly one group role.

The group roles (NOLOGIN, no password) come with the migrations and are the same everywhere:
``learnstream_ingest`` (INSERT on the log), ``learnstream_projector`` (reads the log, writes
the read models), ``learnstream_api`` (SELECT on the read models, the state API) and
``learnstream_collector`` (write keys, dead letters). The login users and their passwords
belong to one deployment, so no migration creates them: ``learnstream db users create``
(:func:`ensure_login_user`) does, after ``learnstream migrate``, as a user allowed to create
roles. It is idempotent: run again, it sets the password anew (a rotation) and puts the user
back to holding only its role.

The password never travels in clear: it is hashed on the client (SCRAM-SHA-256, libpq's
``PQencryptPasswordConn``) and only the verifier is sent, so it is not in the server's
statement log either."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import sql

from learnstream.errors import ConfigurationError

#: The one group role each service's login user holds.
SERVICE_ROLES: dict[str, str] = {
    "ingest": "learnstream_ingest",
    "projector": "learnstream_projector",
    "api": "learnstream_api",
    "collector": "learnstream_collector",
}

#: Every group role of the migrations: none of them may become a login user.
GROUP_ROLES = frozenset({*SERVICE_ROLES.values(), "learnstream_reader", "learnstream_eraser",
                         "learnstream_erasure_owner"})

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def ensure_login_user(conn: psycopg.Connection[Any], user: str, service: str,
                      password: str) -> str:
    """Create ``user`` (or update it) as a login user holding only ``service``'s role, with
    ``password``; returns ``"created"`` or ``"updated"``. :class:`ConfigurationError` for an
    unknown service, a bad name, a missing group role (migrate first) or an existing role
    that must not become a service user (a superuser, a group role, the caller)."""
    role = SERVICE_ROLES.get(service)
    if role is None:
        raise ConfigurationError(f"unknown service {service!r}: one of "
                                 f"{', '.join(SERVICE_ROLES)}")
    if not _NAME.fullmatch(user) or user.startswith("pg_"):
        raise ConfigurationError(f"{user!r} is not a login user name: lower-case letters, "
                                 "digits and _, at most 63, not starting with pg_")
    if user in GROUP_ROLES:
        raise ConfigurationError(f"{user!r} is a group role; give the login user its own name")
    if not password:
        raise ConfigurationError(f"the password of {user!r} is empty")
    with conn.transaction():
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
            raise ConfigurationError(f"the role {role} does not exist yet: run "
                                     "`learnstream migrate` first")
        row = conn.execute("SELECT rolsuper, rolname = current_user FROM pg_roles "
                           "WHERE rolname = %s", (user,)).fetchone()
        if row is not None and (row[0] or row[1]):
            raise ConfigurationError(f"{user!r} is a superuser or the user running this "
                                     "command; a service logs in as a user of its own")
        verifier = conn.pgconn.encrypt_password(password.encode(), user.encode(),
                                                b"scram-sha-256").decode()
        attributes = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                             "NOBYPASSRLS INHERIT PASSWORD {}").format(sql.Literal(verifier))
        ident = sql.Identifier(user)
        verb = "updated" if row is not None else "created"
        conn.execute(sql.SQL("{} ROLE {} WITH {}").format(
            sql.SQL("ALTER" if row is not None else "CREATE"), ident, attributes))
        # Only its own role: any other membership (a learnstream role or another) goes.
        held = conn.execute(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s", (user,)).fetchall()
        for (other,) in held:
            if other != role:
                conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(other), ident))
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), ident))
    return verb
