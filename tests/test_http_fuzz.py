"""Generated bodies and query strings over real HTTP (Hypothesis): every endpoint answers
each with a contract status below 500, errors in the `{"error": {code, message}}` shape, and
no handler raises (the servers' logs are checked for tracebacks and ERROR lines). Bounded:
a few hundred requests, well under a minute."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED_REDIS, make_room
from tests.support.client import PASSWORD, Member, admin_token, new_user
from tests.support.redis_server import emptied
from tests.support.servers import ROOT, SCALE, Cluster, sqlite_cluster, started

pytestmark = pytest.mark.timeout(300)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
hostile = st.one_of(
    json_values,
    st.integers(min_value=-(2**200), max_value=2**200),
    st.text(min_size=2000, max_size=6000),
    st.sampled_from(["", " ", "\x00", "admin", "ADMIN", "member", "facilitator", "open", "off"]),
    st.integers(min_value=1, max_value=40).map(lambda n: json.loads("[" * n + "]" * n)),
)

# The body fields each endpoint reads (its msgspec Struct or the room settings).
ROOM_FIELDS = [
    "slug", "title", "description", "agreement", "access", "transcripts",
    "transcript_readers", "retention_days", "slow_mode_seconds", "max_message_chars",
    "resume_window_seconds", "locked", "crisis_resources", "crisis_resources_es",
    "blocked_terms", "contact_details", "hooks",
]  # fmt: skip
FIELDS: dict[str, list[str]] = {
    "register": ["username", "password", "display_name", "language"],
    "login": ["username", "password", "code"],
    "password": ["current_password", "new_password"],
    "profile": ["display_name", "language"],
    "room": ROOM_FIELDS,
    "role": ["role"],
    "user": ["disabled"],
    "code": ["code"],
    "totp_password": ["password"],
    "none": [],
}
QUERY_NAMES = [
    "limit", "before_id", "before", "after_seq", "since", "until", "q", "room", "role",
    "disabled", "format", "token",
]  # fmt: skip


def _bodies(kind: str) -> st.SearchStrategy[bytes | None]:
    names = FIELDS[kind]
    objects: st.SearchStrategy[Any] = (
        st.dictionaries(st.sampled_from(names), hostile, max_size=len(names))
        if names
        else st.dictionaries(st.text(max_size=8), json_values, max_size=3)
    )
    as_json = st.one_of(objects, objects, objects, json_values).map(
        lambda v: json.dumps(v).encode()
    )
    return st.one_of(
        as_json,
        as_json,
        as_json,
        st.binary(max_size=200),
        st.just(b"{" * 5000),
        st.just(None),
    )


queries = st.dictionaries(
    st.sampled_from(QUERY_NAMES),
    st.one_of(
        st.integers(min_value=-(2**80), max_value=2**80).map(str),
        st.text(max_size=60),
        st.sampled_from(["", "0", "-1", "1e3", "0x10", " 5", "500", "501", "md", "json", "NaN"]),
    ),
    max_size=4,
)


def endpoints(slug: str, victim: str) -> list[tuple[str, str, str]]:
    """(method, path, body kind) for every route in server/http/*.py, with the fuzzing room
    and a sacrificial user (never the callers: PATCH users may disable them)."""
    rooms = [slug, "no-such-room"]
    out = [
        ("POST", "/api/auth/register", "register"),
        ("POST", "/api/auth/login", "login"),
        ("POST", "/api/auth/logout", "none"),
        ("POST", "/api/auth/password", "password"),
        ("GET", "/api/auth/session", "none"),
        ("GET", "/api/me", "none"),
        ("PATCH", "/api/me", "profile"),
        ("GET", "/api/rooms", "none"),
        ("POST", "/api/admin/rooms", "room"),
        ("GET", "/api/admin/audit", "none"),
        ("GET", "/api/admin/users", "none"),
        ("POST", "/api/auth/totp/setup", "totp_password"),
        ("POST", "/api/auth/totp/confirm", "code"),
        ("POST", "/api/auth/totp/disable", "totp_password"),
        ("GET", "/healthz", "none"),
    ]
    for user in (victim, "nobody-here"):
        out.append(("PATCH", f"/api/admin/users/{user}", "user"))
    for room in rooms:
        out += [
            ("GET", f"/api/rooms/{room}", "none"),
            ("GET", f"/api/rooms/{room}/transcript", "none"),
            ("DELETE", f"/api/rooms/{room}/transcript/mine", "none"),
            ("GET", f"/api/rooms/{room}/transcript/export", "none"),
            ("GET", f"/api/rooms/{room}/bans", "none"),
            ("GET", f"/api/admin/rooms/{room}/roles", "none"),
            ("PATCH", f"/api/admin/rooms/{room}", "room"),
            ("PUT", f"/api/admin/rooms/{room}/roles/{victim}", "role"),
            ("DELETE", f"/api/admin/rooms/{room}/roles/{victim}", "none"),
        ]
    return out


@pytest.fixture(scope="module")
def fuzz_cluster() -> Iterator[Cluster]:
    """Two processes (SQLite, a Redis database of this module's own) with no login or
    registration limits, so generated requests reach their handlers instead of `rate_limited`."""
    url = emptied(f"{SHARED_REDIS}/10")
    workdir = Path(tempfile.mkdtemp(prefix="hearth-httpfuzz-"))
    config = str(ROOT / "tests/support/hearth-faults.toml")
    with started(sqlite_cluster(workdir, url, config=config)) as cluster:
        yield cluster


def _check(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what} → {response.status_code}: {response.text[:500]}"
    if response.status_code >= 400:
        try:
            error = response.json().get("error")
        except ValueError:
            raise AssertionError(
                f"{what} → {response.status_code}: {response.text[:500]!r}"
            ) from None
        assert isinstance(error, dict), f"{what} → {response.text[:500]}"
        assert isinstance(error.get("code"), str) and error["code"], what
        assert isinstance(error.get("message"), str), what


def test_generated_requests_never_make_an_endpoint_fail(fuzz_cluster: Cluster) -> None:
    cluster = fuzz_cluster
    sizes = [len(server.log()) for server in cluster.servers]
    bases = [server.base for server in cluster.servers]
    loop = asyncio.new_event_loop()
    try:
        admin = loop.run_until_complete(admin_token(bases[0], cluster.admin))
        member = loop.run_until_complete(new_user(bases[1]))
        victim = loop.run_until_complete(new_user(bases[0], prefix="v"))
        room = loop.run_until_complete(make_room(bases[0], admin, transcripts="opt_in"))
    finally:
        loop.close()
    callers: dict[str, Member] = {"admin": admin, "member": member}
    routes = endpoints(room["slug"], victim.username)
    count = [0]
    statuses: dict[int, int] = {}
    http = [httpx.Client(base_url=base, timeout=20 * max(SCALE, 1)) for base in bases]

    def sign_in_again(who: str) -> None:
        """After a successful logout (or a password change) the caller signs in anew."""
        name = callers[who].username
        password = cluster.admin[1] if who == "admin" else PASSWORD
        r = http[0].post("/api/auth/login", json={"username": name, "password": password})
        assert r.status_code == 200, r.text
        callers[who] = Member(name, r.json()["token"], r.json()["user"])

    @settings(
        max_examples=int(600 / max(SCALE, 1)) + 100,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        who=st.sampled_from(["admin", "admin", "member", "anonymous"]),
        route=st.sampled_from(routes),
        params=queries,
        data=st.data(),
        server=st.integers(min_value=0, max_value=1),
    )
    def one_request(
        who: str, route: tuple[str, str, str], params: dict[str, str], data: Any, server: int
    ) -> None:
        count[0] += 1
        method, path, kind = route
        body = data.draw(_bodies(kind)) if method != "GET" else None
        headers = {"Content-Type": "application/json"}
        if who != "anonymous":
            headers["Authorization"] = f"Bearer {callers[who].token}"
        what = f"{who} {method} {path} {params!r} {(body or b'')[:300]!r}"
        r = http[server].request(method, path, params=params, content=body, headers=headers)
        _check(r, what)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        if who != "anonymous" and r.status_code < 300 and path == "/api/auth/logout":
            sign_in_again(who)
        if who != "anonymous" and r.status_code == 401:
            sign_in_again(who)  # a session the generated requests ended some other way

    try:
        one_request()
    finally:
        for client in http:
            client.close()
    assert count[0] >= 100  # every example went over HTTP
    assert any(code < 300 for code in statuses), statuses  # handlers were reached, not only refused
    for server, size in zip(cluster.servers, sizes, strict=True):
        tail = server.log()[size:]
        assert "Traceback" not in tail, tail[-4000:]
        assert "ERROR" not in tail, tail[-4000:]


def test_a_deeply_nested_body_is_refused_not_failed(fuzz_cluster: Cluster) -> None:
    """The hostile shapes one by one, on every body-reading endpoint, as the admin."""
    loop = asyncio.new_event_loop()
    try:
        admin = loop.run_until_complete(
            admin_token(fuzz_cluster.servers[0].base, fuzz_cluster.admin)
        )
    finally:
        loop.close()
    bodies = [b"[" * 100000, b'{"a":' * 20000, b"9" * 100000, b"\xff\xfe", b"", b"null"]
    with httpx.Client(base_url=fuzz_cluster.servers[0].base, headers=admin.headers) as http:
        for method, path, kind in endpoints("no-such-room", "nobody-here"):
            if kind == "none" or path.endswith("/logout"):
                continue
            for body in bodies:
                r = http.request(
                    method, path, content=body, headers={"Content-Type": "application/json"}
                )
                _check(r, f"{method} {path} {body[:40]!r}")
