"""``ensure_login_user`` refuses what must never become a service's login user before it
touches the database (the database side is tests/integration/test_service_logins.py)."""

from __future__ import annotations

from typing import Any

import pytest

from learnstream.errors import ConfigurationError
from learnstream.logins import SERVICE_ROLES, ensure_login_user


class _NoDatabase:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was used ({name})")


@pytest.mark.parametrize(("user", "service", "password", "message"), [
    ("ingest_login", "warehouse", "pw", "unknown service"),
    ("Ingest", "ingest", "pw", "not a login user name"),
    ("pg_monitor", "api", "pw", "not a login user name"),
    ("x" * 64, "api", "pw", "not a login user name"),
    ('a"; DROP ROLE x; --', "api", "pw", "not a login user name"),
    ("learnstream_reader", "api", "pw", "is a group role"),
    ("learnstream_ingest", "projector", "pw", "is a group role"),
    ("api_login", "api", "", "password"),
])
def test_refused_before_the_database_is_asked(user: str, service: str, password: str,
                                              message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ensure_login_user(_NoDatabase(), user, service, password)  # type: ignore[arg-type]


def test_each_service_has_one_role_and_they_differ() -> None:
    assert set(SERVICE_ROLES) == {"ingest", "projector", "api", "collector"}
    assert len(set(SERVICE_ROLES.values())) == 4
    assert SERVICE_ROLES["collector"] == "learnstream_collector"
    assert SERVICE_ROLES["api"] == "learnstream_api"
