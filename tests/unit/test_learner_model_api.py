"""The state API without servers: bearer tokens (401 without a valid one), 503 mapping,
pre-serialised JSON that matches the response model, the OpenAPI schema, and the async
client's StateUnavailable on an unreachable store."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

import learner_model.serving.service as service
from learner_model.errors import StateUnavailable
from learner_model.serving.async_client import AsyncLearnerStateClient
from learner_model.serving.client import (
    LEARNER_ID_PATTERN,
    MAX_BATCH,
    LearnerStateResponse,
    distinct_ids,
    learner_id_problem,
)
from learner_model.serving.tokens import TokenCache, token_digest
from learnstream.contracts import MAX_IDENTIFIER_LENGTH
from learnstream.settings import Settings


def _state(learner_id: str, *, cold: bool = False) -> LearnerStateResponse:
    return LearnerStateResponse(
        learner_id=learner_id, comprehension_level=0.75, comprehension_low=0.5,
        comprehension_high=0.9, ability_logit=0.3, ability_sd=0.6,
        preference_weights={"genre:news": 0.25}, content_type_preferences={"podcast": -0.5},
        difficulty_adjustment=0.1, data_points=0 if cold else 7, outcomes=0 if cold else 4,
        cold_start=cold, model_version="v1", as_of=42, last_event_at=None)


#: The one token the fake store knows (and one it knows as revoked: not active).
TOKEN = "the-valid-token"
REVOKED = "a-revoked-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class _FakeClient:
    """Stands in for the async client: 'down' makes every read fail like a dead store."""

    down = False
    opened = 0
    closed = 0
    asked: ClassVar[list[str]] = []
    token_lookups: ClassVar[list[bytes]] = []
    active: ClassVar[set[bytes]] = {token_digest(TOKEN)}

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def open(self) -> None:
        type(self).opened += 1

    async def close(self) -> None:
        type(self).closed += 1

    async def get(self, learner_id: str) -> LearnerStateResponse:
        return (await self.get_many([learner_id]))[0]

    async def get_many(self, ids: Sequence[str]) -> list[LearnerStateResponse]:
        type(self).asked.extend(ids)
        if self.down:
            raise StateUnavailable("connection refused")
        return [_state(i, cold=i.startswith("new")) for i in ids]

    async def token_is_active(self, digest: bytes) -> bool:
        type(self).token_lookups.append(digest)
        if self.down:
            raise StateUnavailable("connection refused")
        return digest in self.active


@pytest.fixture
def fake_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_FakeClient, "down", False)
    monkeypatch.setattr(_FakeClient, "asked", [])
    monkeypatch.setattr(_FakeClient, "token_lookups", [])
    monkeypatch.setattr(_FakeClient, "active", {token_digest(TOKEN)})
    monkeypatch.setattr(service, "AsyncLearnerStateClient", _FakeClient)


@pytest.fixture
def http(fake_store: None) -> TestClient:
    """The app with a valid token on every request."""
    return TestClient(service.create_app(Settings()), headers=AUTH)


@pytest.fixture
def anonymous(fake_store: None) -> TestClient:
    """The app, requests without an Authorization header."""
    return TestClient(service.create_app(Settings()))


def test_single_read_is_the_model_as_json(http: TestClient) -> None:
    with http:
        r = http.get("/v1/learners/l1/state")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert LearnerStateResponse.model_validate(r.json()) == _state("l1")


def test_batch_answers_every_requested_id_in_request_order(http: TestClient) -> None:
    # Issue 14 item 2: a repeated id is answered again at its place (it used to be dropped).
    with http:
        r = http.post("/v1/learners/states", json={"learner_ids": ["b", "new-a", "b"]})
    assert r.status_code == 200
    states = [LearnerStateResponse.model_validate(s) for s in r.json()["states"]]
    assert [s.learner_id for s in states] == ["b", "new-a", "b"]
    assert states[1].cold_start and not states[0].cold_start and states[2] == states[0]


def test_clients_query_each_distinct_id_once_and_refuse_oversized_batches() -> None:
    assert distinct_ids(["a", "nobody", "a"]) == ["a", "nobody"]
    assert len(distinct_ids(["x"] * (MAX_BATCH + 5))) == 1  # repeats cost nothing
    with pytest.raises(ValueError, match="at most"):
        distinct_ids([str(i) for i in range(MAX_BATCH + 1)])


def test_empty_batch_is_rejected(http: TestClient) -> None:
    with http:
        assert http.post("/v1/learners/states", json={"learner_ids": []}).status_code == 422


BAD_IDS = {
    "nul": "\x00bad",
    "newline": "a\nb",
    "delete": "a\x7fb",
    "c1 control": "a\x85b",
    "too long": "x" * (MAX_IDENTIFIER_LENGTH + 1),
    "5000 characters": "x" * 5000,
}


@pytest.mark.parametrize("bad", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_invalid_learner_ids_are_422_before_the_store_is_asked(http: TestClient,
                                                                bad: str) -> None:
    # Issue 14 item 12: a NUL reached PostgreSQL (500), a 5,000-character id answered 200.
    with http:
        one = http.get(f"/v1/learners/{quote(bad, safe='')}/state")
        many = http.post("/v1/learners/states", json={"learner_ids": ["ok", bad]})
        empty = http.post("/v1/learners/states", json={"learner_ids": ["ok", ""]})
    assert (one.status_code, many.status_code, empty.status_code) == (422, 422, 422)
    assert _FakeClient.asked == []


def test_the_longest_valid_id_is_served(http: TestClient) -> None:
    longest = "é" * MAX_IDENTIFIER_LENGTH  # characters, not bytes, as in the contract
    with http:
        one = http.get(f"/v1/learners/{quote(longest)}/state")
        many = http.post("/v1/learners/states", json={"learner_ids": [longest]})
    assert one.status_code == 200 and one.json()["learner_id"] == longest
    assert many.status_code == 200


@pytest.mark.parametrize("bad", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_clients_refuse_invalid_ids(bad: str) -> None:
    with pytest.raises(ValueError, match="learner id"):
        distinct_ids(["ok", bad])
    assert learner_id_problem(bad) is not None
    assert learner_id_problem("") is not None and learner_id_problem("ok") is None


def test_unavailable_store_is_503(http: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_FakeClient, "down", True)
    with http:
        one = http.get("/v1/learners/l1/state")
        many = http.post("/v1/learners/states", json={"learner_ids": ["l1"]})
        alive = http.get("/healthz")
    assert one.status_code == 503 and many.status_code == 503
    assert one.headers["retry-after"] == many.headers["retry-after"] == "5"
    assert alive.json() == {"status": "ok"}


def test_pool_opens_at_startup_and_closes_at_shutdown(http: TestClient,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_FakeClient, "opened", 0)
    monkeypatch.setattr(_FakeClient, "closed", 0)
    with http:
        assert (_FakeClient.opened, _FakeClient.closed) == (1, 0)
    assert (_FakeClient.opened, _FakeClient.closed) == (1, 1)


def test_openapi_keeps_the_response_models(http: TestClient) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    one = paths["/v1/learners/{learner_id}/state"]["get"]["responses"]["200"]
    many = paths["/v1/learners/states"]["post"]["responses"]["200"]
    assert one["content"]["application/json"]["schema"]["$ref"].endswith("/LearnerStateResponse")
    assert many["content"]["application/json"]["schema"]["$ref"].endswith("/BatchResponse")


def test_openapi_lists_the_error_responses_and_the_id_rule(http: TestClient) -> None:
    doc = http.get("/openapi.json").json()
    one = doc["paths"]["/v1/learners/{learner_id}/state"]["get"]
    many = doc["paths"]["/v1/learners/states"]["post"]
    for operation in (one, many):
        assert {"200", "422", "503"} <= set(operation["responses"])
        assert "Retry-After" in operation["responses"]["503"]["headers"]
    (param,) = one["parameters"]
    assert (param["schema"]["minLength"], param["schema"]["maxLength"]) == (
        1, MAX_IDENTIFIER_LENGTH)
    assert param["schema"]["pattern"] == LEARNER_ID_PATTERN
    items = doc["components"]["schemas"]["BatchRequest"]["properties"]["learner_ids"]["items"]
    assert items["maxLength"] == MAX_IDENTIFIER_LENGTH and items["pattern"] == LEARNER_ID_PATTERN


def test_async_client_unreachable_store_raises_state_unavailable() -> None:
    # Port 1 on localhost refuses connections; the pool times out quickly.
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none")

    async def read() -> None:
        async with AsyncLearnerStateClient(settings, timeout=0.5) as client:
            await client.get("l1")

    with pytest.raises(StateUnavailable):
        asyncio.run(read())



def test_docs_pages_load_nothing_from_another_host(http: TestClient) -> None:
    """Swagger UI and ReDoc work offline: every script, stylesheet and icon they reference is
    a path this app serves (the stock FastAPI pages load them from a CDN)."""
    for page in ("/docs", "/redoc"):
        html = http.get(page)
        assert html.status_code == 200
        refs = re.findall(r'(?:src|href)="([^"]+)"', html.text)
        assert refs, page
        for ref in refs:
            assert ref.startswith("/"), f"{page} loads {ref} from another host"
            asset = http.get(ref)
            assert asset.status_code == 200 and len(asset.content) > 1000, ref


def test_the_access_log_setting_chooses_the_access_logger_level() -> None:
    on = service._log_config(access_log=True)["loggers"]
    off = service._log_config(access_log=False)["loggers"]
    assert on["uvicorn.access"]["level"] == "INFO"
    assert off["uvicorn.access"]["level"] == "WARNING"
    assert on["uvicorn.error"]["level"] == off["uvicorn.error"]["level"] == "WARNING"


def test_a_taken_port_is_an_os_error_naming_the_address() -> None:
    first = service.bind("127.0.0.1", 0)
    try:
        port = first.getsockname()[1]
        first.listen()
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            service.bind("127.0.0.1", port)
    finally:
        first.close()


@pytest.mark.parametrize(("address", "url"), [(("127.0.0.1", 8088), "http://127.0.0.1:8088"),
                                              (("::1", 8088, 0, 0), "http://[::1]:8088")])
def test_url_of_a_socket(address: tuple[object, ...], url: str) -> None:
    class _Sock:
        def getsockname(self) -> tuple[object, ...]:
            return address

    assert service.url_of(_Sock()) == url  # type: ignore[arg-type]


# ---- bearer tokens ----

STATE = "/v1/learners/l1/state"
BATCH = "/v1/learners/states"


def _both(client: TestClient, headers: dict[str, str]) -> list[int]:
    one = client.get(STATE, headers=headers)
    many = client.post(BATCH, json={"learner_ids": ["l1"]}, headers=headers)
    return [one.status_code, many.status_code]


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwdw==",
                                    TOKEN, f"Token {TOKEN}"])
def test_a_missing_or_malformed_authorization_header_is_401_with_a_bearer_challenge(
        anonymous: TestClient, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    with anonymous:
        for response in (anonymous.get(STATE, headers=headers),
                         anonymous.post(BATCH, json={"learner_ids": ["l1"]}, headers=headers)):
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert _FakeClient.asked == []  # no state was read


@pytest.mark.parametrize("token", ["wrong-token", REVOKED, TOKEN + "x", TOKEN.upper()])
def test_an_unknown_or_revoked_token_is_401_invalid_token(anonymous: TestClient,
                                                          token: str) -> None:
    with anonymous:
        one = anonymous.get(STATE, headers={"Authorization": f"Bearer {token}"})
        many = anonymous.post(BATCH, json={"learner_ids": ["l1"]},
                              headers={"Authorization": f"Bearer {token}"})
    for response in (one, many):
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert _FakeClient.asked == []
    assert token_digest(token) in _FakeClient.token_lookups  # the store was asked


def test_a_valid_token_is_served_and_the_scheme_is_case_insensitive(
        anonymous: TestClient) -> None:
    with anonymous:
        assert _both(anonymous, {"Authorization": f"Bearer {TOKEN}"}) == [200, 200]
        assert _both(anonymous, {"Authorization": f"bearer {TOKEN}"}) == [200, 200]


def test_healthz_and_the_documentation_need_no_token(anonymous: TestClient) -> None:
    with anonymous:
        for path in ("/healthz", "/openapi.json", "/docs", "/redoc"):
            assert anonymous.get(path).status_code == 200, path
    assert _FakeClient.token_lookups == []


def test_an_unauthenticated_request_with_a_bad_id_is_401_not_422(anonymous: TestClient) -> None:
    with anonymous:
        assert anonymous.get("/v1/learners/%01/state").status_code == 401
        assert anonymous.post(BATCH, json={"learner_ids": []}).status_code == 401


def test_a_verified_token_is_cached_and_a_revocation_is_seen_once_it_expires(
        fake_store: None, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(service, "TokenCache",
                        lambda ttl: TokenCache(ttl, clock=lambda: now[0]))
    client = TestClient(service.create_app(Settings().with_part(
        learner_model={"token_cache_seconds": 10.0})), headers=AUTH)
    with client:
        for _ in range(3):
            assert client.get(STATE).status_code == 200
        assert len(_FakeClient.token_lookups) == 1  # looked up once, then cached
        _FakeClient.active = set()  # `learnstream tokens revoke`
        now[0] += 9.0
        assert client.get(STATE).status_code == 200  # within the documented delay
        now[0] += 1.5
        assert client.get(STATE).status_code == 401
        assert client.get(STATE).status_code == 401  # refusals are not cached
    assert len(_FakeClient.token_lookups) == 3


def test_without_a_cache_every_request_looks_the_token_up(fake_store: None) -> None:
    client = TestClient(service.create_app(Settings().with_part(
        learner_model={"token_cache_seconds": 0.0})), headers=AUTH)
    with client:
        for _ in range(3):
            assert client.get(STATE).status_code == 200
    assert len(_FakeClient.token_lookups) == 3


def test_an_unreachable_token_store_is_503_not_401(http: TestClient,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_FakeClient, "down", True)
    with http:
        response = http.get(STATE)
    assert response.status_code == 503 and response.headers["retry-after"] == "5"


def test_openapi_declares_the_bearer_scheme_and_the_401(http: TestClient) -> None:
    doc = http.get("/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, method in ((STATE, "get"), (BATCH, "post")):
        operation = doc["paths"][path.replace("l1", "{learner_id}")][method]
        assert operation["security"] == [{"bearer": []}]
        assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
    assert "security" not in doc["paths"]["/healthz"]["get"]


def test_token_digest_is_sha256() -> None:
    import hashlib

    assert token_digest("abc") == hashlib.sha256(b"abc").digest()
    assert len(token_digest(TOKEN)) == 32
