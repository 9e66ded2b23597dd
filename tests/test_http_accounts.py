"""Accounts over HTTP (PROTOCOL §2): registration rules, login and its throttle, sessions by
bearer token and cookie, logout across processes, the Origin check, health and headers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import PASSWORD, WS, Member, expect_close, unique
from tests.support.servers import SCALE, Cluster

pytestmark = pytest.mark.timeout(120)


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the contract's error shape with this status and code."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body: dict[str, Any] = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


async def register(http: httpx.AsyncClient, username: str, password: str = PASSWORD,
                   **extra: Any) -> httpx.Response:
    return await http.post("/api/auth/register",
                           json={"username": username, "password": password, **extra})


async def login(http: httpx.AsyncClient, username: str,
                password: str = PASSWORD) -> httpx.Response:
    return await http.post("/api/auth/login", json={"username": username, "password": password})


def session_cookie(r: httpx.Response) -> tuple[str, str, Any]:
    """(name, value, morsel) of the one cookie a login sets."""
    headers = r.headers.get_list("set-cookie")
    assert len(headers) == 1, headers
    jar: SimpleCookie = SimpleCookie()
    jar.load(headers[0])
    (name, morsel), = jar.items()
    return name, morsel.value, morsel


async def signed_up(http: httpx.AsyncClient, prefix: str = "acc") -> str:
    """A fresh registered username (not signed in)."""
    username = unique(prefix)
    r = await register(http, username)
    assert r.status_code == 201, r.text
    return username


# -- registration ---------------------------------------------------------------------------


async def test_register_returns_user_without_signing_in(http: httpx.AsyncClient) -> None:
    username = unique("reg")
    r = await register(http, username)
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"user"}
    user = body["user"]
    assert set(user) >= {"id", "username", "display_name", "is_admin"}
    assert isinstance(user["id"], str) and user["id"]
    assert user["username"] == username
    assert user["display_name"] == username  # the default
    assert user["is_admin"] is False
    # Registering signs nobody in: no cookie, and no token in the answer.
    assert "set-cookie" not in r.headers
    assert "token" not in body


async def test_register_keeps_display_name(http: httpx.AsyncClient) -> None:
    r = await register(http, unique("reg"), display_name="Ana María 🌱")
    assert r.status_code == 201, r.text
    assert r.json()["user"]["display_name"] == "Ana María 🌱"


async def test_username_capitals_fold_and_stay_unique(http: httpx.AsyncClient) -> None:
    lower = unique("case")
    mixed = lower.upper()
    r = await register(http, mixed)
    assert r.status_code == 201, r.text
    assert r.json()["user"]["username"] == lower
    assert_error(await register(http, lower), 409, "conflict")
    assert_error(await register(http, lower[:2].upper() + lower[2:]), 409, "conflict")
    # Matched regardless of case at login too.
    r = await login(http, lower.capitalize())
    assert r.status_code == 200, r.text
    assert r.json()["user"]["username"] == lower


async def test_taken_username_is_conflict(http: httpx.AsyncClient) -> None:
    username = await signed_up(http)
    assert_error(await register(http, username, "another fine password"), 409, "conflict")


@pytest.mark.parametrize("username", [
    "ab",                     # too short
    "a" * 33,                 # too long
    "bad name",               # space
    "bad!name",               # punctuation
    "émile-x",                # not a-z
    "_leading",               # must start with a letter or digit
    ".leading",
    "-leading",
    "",
])
async def test_bad_usernames_are_invalid(http: httpx.AsyncClient, username: str) -> None:
    assert_error(await register(http, username), 422, "invalid")


async def test_username_edges_are_accepted(http: httpx.AsyncClient) -> None:
    base = unique("")  # ten hex characters
    for username in (f"9{base}", f"{base}._-x", (base * 4)[:32]):
        r = await register(http, username)
        assert r.status_code == 201, (username, r.text)
        assert r.json()["user"]["username"] == username


@pytest.mark.parametrize("display_name", [
    "",
    "   ",
    "\u3000\u00a0",           # Unicode white space only
    "tab\there",
    "bell\x07",
    "del\x7f",
    "x" * 65,
])
async def test_bad_display_names_are_invalid(http: httpx.AsyncClient, display_name: str) -> None:
    assert_error(await register(http, unique("dn"), display_name=display_name), 422, "invalid")


async def test_display_name_of_64_characters_is_accepted(http: httpx.AsyncClient) -> None:
    r = await register(http, unique("dn"), display_name="é" * 64)
    assert r.status_code == 201, r.text
    assert r.json()["user"]["display_name"] == "é" * 64


@pytest.mark.parametrize("password", ["x7chars", "y" * 129])
async def test_password_length_outside_8_to_128_is_invalid(
    http: httpx.AsyncClient, password: str
) -> None:
    assert_error(await register(http, unique("pw"), password), 422, "invalid")


async def test_password_of_8_and_128_characters_is_accepted(http: httpx.AsyncClient) -> None:
    for password in ("q9$mv!k2", "z" * 127 + "!"):
        username = unique("pw")
        r = await register(http, username, password)
        assert r.status_code == 201, r.text
        assert (await login(http, username, password)).status_code == 200


async def test_common_password_is_weak(http: httpx.AsyncClient) -> None:
    assert_error(await register(http, unique("weak"), "password123"), 422, "weak_password")
    assert_error(await register(http, unique("weak"), "PassWord123"), 422, "weak_password")


async def test_username_as_password_is_weak(http: httpx.AsyncClient) -> None:
    username = unique("same")
    assert_error(await register(http, username, username), 422, "weak_password")
    assert_error(await register(http, username, username.upper()), 422, "weak_password")
    # Nothing was created: the name is still free.
    assert (await register(http, username)).status_code == 201


async def test_body_not_json_is_400(http: httpx.AsyncClient) -> None:
    r = await http.post("/api/auth/register", content=b"{username: nope",
                        headers={"content-type": "application/json"})
    assert_error(r, 400, "invalid")
    assert_error(await http.post("/api/auth/login", content=b"\xff\xfe"), 400, "invalid")


@pytest.mark.parametrize("body", [
    [],
    ["username", "password"],
    "a string",
    42,
    None,
])
async def test_json_that_is_not_an_object_is_422(http: httpx.AsyncClient, body: Any) -> None:
    r = await http.post("/api/auth/register", content=json.dumps(body).encode())
    assert_error(r, 422, "invalid")


@pytest.mark.parametrize("body", [
    {"username": "unknown-field-x", "password": PASSWORD, "is_admin": True},
    {"password": PASSWORD},
    {"username": "missing-pw-x"},
    {"username": 12345678, "password": PASSWORD},
    {"username": "wrong-type-x", "password": ["a fine long password"]},
    {"username": "wrong-type-y", "password": PASSWORD, "display_name": 7},
])
async def test_bad_fields_are_422(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    assert_error(await http.post("/api/auth/register", json=body), 422, "invalid")


async def test_unknown_field_on_login_is_422(http: httpx.AsyncClient) -> None:
    username = await signed_up(http)
    r = await http.post("/api/auth/login",
                        json={"username": username, "password": PASSWORD, "remember": True})
    assert_error(r, 422, "invalid")


async def test_body_over_64_kib_is_too_large(http: httpx.AsyncClient) -> None:
    big = {"username": unique("big"), "password": PASSWORD, "display_name": "x" * 70_000}
    assert_error(await http.post("/api/auth/register", json=big), 413, "too_large")

    # Also without a Content-Length: a chunked body is counted as it arrives.
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"username": "chunked", "password": "'
        for _ in range(20):
            yield b"p" * 4096
        yield b'"}'

    assert_error(await http.post("/api/auth/register", content=chunks()), 413, "too_large")


async def test_body_just_under_64_kib_is_read(http: httpx.AsyncClient) -> None:
    # Under the size limit the body is parsed, so the answer is about its fields instead.
    body = json.dumps({"username": unique("ok"), "password": PASSWORD,
                       "display_name": "x" * 60_000})
    assert len(body) < 65536
    assert_error(await http.post("/api/auth/register", content=body), 422, "invalid")


# -- login ------------------------------------------------------------------------------------


async def test_login_answers_token_user_and_cookie(http: httpx.AsyncClient) -> None:
    username = await signed_up(http)
    r = await login(http, username)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token", "user"}
    assert isinstance(body["token"], str) and len(body["token"]) >= 20
    assert body["user"]["username"] == username
    assert body["user"]["is_admin"] is False
    name, value, morsel = session_cookie(r)
    assert value
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"
    assert not morsel["secure"]  # plain HTTP here
    assert morsel["path"] == "/"


async def test_each_login_is_its_own_session(http: httpx.AsyncClient) -> None:
    username = await signed_up(http)
    first, second = (await login(http, username)).json(), (await login(http, username)).json()
    assert first["token"] != second["token"]
    assert first["user"] == second["user"]


async def test_bad_credentials_are_byte_identical(http: httpx.AsyncClient) -> None:
    username = await signed_up(http)
    wrong = await login(http, username, "not the password at all")
    nobody = await login(http, unique("nobody"), "not the password at all")
    assert_error(wrong, 401, "bad_credentials")
    assert_error(nobody, 401, "bad_credentials")
    assert wrong.content == nobody.content
    assert wrong.headers["content-type"] == nobody.headers["content-type"]
    assert "set-cookie" not in wrong.headers and "set-cookie" not in nobody.headers


async def test_password_over_128_fails_login(http: httpx.AsyncClient) -> None:
    username = await signed_up(http)
    r = await login(http, username, PASSWORD + "x" * 129)
    assert_error(r, 401, "bad_credentials")
    assert r.content == (await login(http, unique("nobody"), "y" * 129)).content
    # An enormous one is refused the same way (not hashed, not a 413 below the body limit).
    assert_error(await login(http, username, "z" * 30_000), 401, "bad_credentials")


async def test_login_throttled_after_10_failures_for_a_username(
    http: httpx.AsyncClient,
) -> None:
    username = await signed_up(http, "thr")
    for _ in range(10):
        assert_error(await login(http, username, "wrong password!"), 401, "bad_credentials")
    r = await login(http, username)  # the right password
    assert_error(r, 429, "rate_limited")
    retry = r.headers.get("retry-after")
    assert retry is not None and retry.isdigit() and int(retry) >= 1, r.headers
    # Throttled for this username only: another user signs in.
    other = await signed_up(http, "thr")
    assert (await login(http, other)).status_code == 200
    # Counted case-insensitively: capitals are the same username.
    assert_error(await login(http, username.upper()), 429, "rate_limited")


async def test_throttle_is_shared_by_processes(cluster: Cluster) -> None:
    a, b = cluster.servers[0].base, cluster.servers[1].base
    async with httpx.AsyncClient(base_url=a) as http_a, httpx.AsyncClient(base_url=b) as http_b:
        username = await signed_up(http_a, "thr")
        for i in range(10):
            http = http_a if i % 2 else http_b
            assert_error(await login(http, username, "wrong password!"), 401, "bad_credentials")
        assert_error(await login(http_a, username), 429, "rate_limited")
        assert_error(await login(http_b, username), 429, "rate_limited")


# -- who am I -------------------------------------------------------------------------------


async def test_me_with_bearer_and_with_cookie(http: httpx.AsyncClient) -> None:
    username = await signed_up(http)
    r = await login(http, username)
    token, user = r.json()["token"], r.json()["user"]
    name, value, _ = session_cookie(r)
    http.cookies.clear()
    r = await http.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json()["user"] == user and "expires_at" in r.json()["session"]  # PROTOCOL §8
    r = await http.get("/api/me", headers={"Cookie": f"{name}={value}"})
    assert r.status_code == 200, r.text
    assert r.json()["user"] == user and "expires_at" in r.json()["session"]


async def test_bearer_wins_over_cookie(http: httpx.AsyncClient) -> None:
    first, second = await signed_up(http), await signed_up(http)
    r1, r2 = await login(http, first), await login(http, second)
    name, value, _ = session_cookie(r1)
    http.cookies.clear()
    r = await http.get("/api/me", headers={"Cookie": f"{name}={value}",
                                           "Authorization": f"Bearer {r2.json()['token']}"})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["username"] == second


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer not-a-real-token"},
    {"Authorization": "Bearer " + "x" * 5000},
    {"Authorization": "Basic YWRtaW46YWRtaW4tcGFzc3dvcmQtMQ=="},
    {"Cookie": "hearth_session=forged-value"},
])
async def test_no_or_garbage_credentials_are_unauthorized(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    http.cookies.clear()
    assert_error(await http.get("/api/me", headers=headers), 401, "unauthorized")
    assert_error(await http.get("/api/rooms", headers=headers), 401, "unauthorized")


async def test_token_in_url_is_not_accepted(http: httpx.AsyncClient) -> None:
    username = await signed_up(http)
    token = (await login(http, username)).json()["token"]
    http.cookies.clear()
    for query in (f"token={token}", f"access_token={token}"):
        assert_error(await http.get(f"/api/me?{query}"), 401, "unauthorized")


async def test_credentials_are_checked_before_the_body(http: httpx.AsyncClient) -> None:
    http.cookies.clear()
    bad = b"this is {not json"
    assert_error(await http.patch("/api/admin/rooms/anything", content=bad), 401, "unauthorized")
    assert_error(await http.post("/api/admin/rooms", content=bad), 401, "unauthorized")
    assert_error(await http.post("/api/admin/rooms", json=[1, 2]), 401, "unauthorized")
    assert_error(await http.put("/api/admin/rooms/x/roles/y", content=bad), 401, "unauthorized")
    assert_error(await http.post("/api/auth/logout", content=bad), 401, "unauthorized")
    r = await http.post("/api/admin/rooms", content=b"x" * 70_000,
                        headers={"Authorization": "Bearer nope"})
    assert_error(r, 401, "unauthorized")


async def test_unknown_path_is_not_found(http: httpx.AsyncClient) -> None:
    assert_error(await http.get("/api/no-such-thing"), 404, "not_found")


# -- logout -----------------------------------------------------------------------------------


async def test_logout_ends_the_session_token_and_cookie(http: httpx.AsyncClient) -> None:
    username = await signed_up(http)
    r = await login(http, username)
    token = r.json()["token"]
    name, value, _ = session_cookie(r)
    http.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    cookie = {"Cookie": f"{name}={value}"}
    assert (await http.get("/api/me", headers=cookie)).status_code == 200
    r = await http.post("/api/auth/logout", headers=bearer)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_error(await http.get("/api/me", headers=bearer), 401, "unauthorized")
    assert_error(await http.get("/api/me", headers=cookie), 401, "unauthorized")
    assert_error(await http.post("/api/auth/logout", headers=bearer), 401, "unauthorized")


async def test_logout_closes_that_sessions_sockets_on_every_process(
    cluster: Cluster, room: dict[str, Any]
) -> None:
    s0, s1 = cluster.servers
    async with httpx.AsyncClient(base_url=s0.base) as http:
        username = await signed_up(http, "out")
        first = (await login(http, username)).json()
        second = (await login(http, username)).json()
    gone = Member(username, first["token"], first["user"])
    stays = Member(username, second["token"], second["user"])
    slug = room["slug"]
    ws_a, _ = await WS.enter(s0.ws_base, slug, gone)
    ws_b, _ = await WS.enter(s1.ws_base, slug, gone)
    ws_c, _ = await WS.enter(s1.ws_base, slug, stays)
    ws_d, _ = await WS.enter(s0.ws_base, slug, stays)
    try:
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=s0.base, headers=gone.headers) as http:
            r = await http.post("/api/auth/logout")
            assert r.status_code == 204, r.text
        closes = await asyncio.gather(expect_close(ws_a, 2.0), expect_close(ws_b, 2.0))
        elapsed = time.monotonic() - started
        assert [code for code, _ in closes] == [4401, 4401], closes
        assert elapsed < 2.0 * SCALE, elapsed
        # The user's other session is untouched, on both processes.
        for ws in (ws_c, ws_d):
            await ws.send({"type": "ping", "ref": "still-here"})
            assert (await ws.next("pong", 2.0))["ref"] == "still-here"
        async with httpx.AsyncClient(base_url=s1.base, headers=stays.headers) as http:
            assert (await http.get("/api/me")).status_code == 200
        # The logged-out token cannot open a socket again.
        ws_e = await WS.open(s1.ws_base, slug, gone)
        code, _ = await expect_close(ws_e, 2.0)
        assert code == 4401
    finally:
        for ws in (ws_a, ws_b, ws_c, ws_d):
            await ws.close()


async def test_cookie_logout_needs_an_allowed_origin(cluster: Cluster) -> None:
    server = cluster.servers[0]
    async with httpx.AsyncClient(base_url=server.base) as http:
        username = await signed_up(http, "orig")
        name, value, _ = session_cookie(await login(http, username))
        http.cookies.clear()
        cookie = {"Cookie": f"{name}={value}"}
        for origin in ("http://evil.example", f"http://localhost:{server.port}",
                       f"https://127.0.0.1:{server.port}", "null"):
            r = await http.post("/api/auth/logout", headers={**cookie, "Origin": origin})
            assert_error(r, 403, "forbidden")
        # No Origin at all is no allowed Origin either.
        assert_error(await http.post("/api/auth/logout", headers=cookie), 403, "forbidden")
        assert (await http.get("/api/me", headers=cookie)).status_code == 200
        r = await http.post("/api/auth/logout", headers={**cookie, "Origin": server.base})
        assert r.status_code == 204, r.text
        assert_error(await http.get("/api/me", headers=cookie), 401, "unauthorized")


async def test_bearer_change_needs_no_origin(http: httpx.AsyncClient) -> None:
    username = await signed_up(http, "orig")
    token = (await login(http, username)).json()["token"]
    http.cookies.clear()
    r = await http.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}",
                                                      "Origin": "http://evil.example"})
    assert r.status_code == 204, r.text


async def test_cookie_change_from_foreign_origin_is_refused_on_admin_routes(
    cluster: Cluster, admin: Member
) -> None:
    server = cluster.servers[0]
    async with httpx.AsyncClient(base_url=server.base) as http:
        name, value, _ = session_cookie(await login(http, *cluster.admin))
        http.cookies.clear()
        headers = {"Cookie": f"{name}={value}", "Origin": "http://evil.example"}
        slug = unique("orig-")
        r = await http.post("/api/admin/rooms", json={"slug": slug, "title": "x"},
                            headers=headers)
        assert_error(r, 403, "forbidden")
        # Reading is not a change: no Origin needed.
        r = await http.get(f"/api/rooms/{slug}", headers={"Cookie": f"{name}={value}"})
        assert_error(r, 404, "not_found")
        r = await http.post("/api/admin/rooms", json={"slug": slug, "title": "x"},
                            headers={**headers, "Origin": server.base})
        assert r.status_code == 201, r.text


# -- health and headers -----------------------------------------------------------------------


async def test_healthz(cluster: Cluster) -> None:
    for server in cluster.servers:
        async with httpx.AsyncClient(base_url=server.base) as http:
            r = await http.get("/healthz")
            assert r.status_code == 200, r.text
            assert r.json() == {"status": "ok", "protocol": 1, "broker": "redis",
                                "database": "ok", "redis": "ok"}


async def test_page_security_headers(http: httpx.AsyncClient) -> None:
    r = await http.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = r.headers["content-security-policy"]
    directives = {
        part.split()[0].lower(): part.split()[1:]
        for part in (p.strip() for p in csp.split(";")) if part
    }
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, csp
    assert directives.get("frame-ancestors") == ["'none'"], csp
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts is not None and "*" not in scripts, csp


# -- a server with registration closed ----------------------------------------------------------


@pytest.fixture(scope="module")
def closed_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One process, in-process broker, `registration_open = false`."""
    workdir = tmp_path_factory.mktemp("closed")
    config = workdir / "hearth.toml"
    support = Path(__file__).parent / "support" / "hearth-test.toml"
    config.write_text(support.read_text() + "\n", encoding="utf-8")
    text = config.read_text().replace(
        "[accounts]\n", "[accounts]\nregistration_open = false\n", 1)
    assert "registration_open = false" in text
    config.write_text(text, encoding="utf-8")
    cluster = Cluster(workdir=workdir, database_url=f"sqlite+aiosqlite:///{workdir / 'h.db'}",
                      redis_url=None, processes=1, config=str(config)).start()
    yield cluster
    cluster.stop()


async def test_registration_closed_is_forbidden(closed_cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=closed_cluster.servers[0].base) as http:
        assert_error(await register(http, unique("closed")), 403, "forbidden")
        # Logins still work (the admin made by `hearth create-admin`).
        r = await login(http, *closed_cluster.admin)
        assert r.status_code == 200, r.text
        assert r.json()["user"]["is_admin"] is True
        # Without Redis: the in-process broker, and no `redis` field.
        r = await http.get("/healthz")
        assert r.status_code == 200
        assert r.json() == {"status": "ok", "protocol": 1, "broker": "memory",
                            "database": "ok"}
