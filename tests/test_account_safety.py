"""Account safety across two processes (PROTOCOL §8): changing a password, disabling an
account, `hearth create-admin` resetting one, the admin's list of users, audited reads of
recorded words, and the TOTP second factor with recovery codes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pyotp
import pytest

from tests.conftest import make_room
from tests.support.client import PASSWORD, WS, Member, expect_close, new_user, unique
from tests.support.servers import Cluster, hearth_cli

pytestmark = pytest.mark.timeout(180)


async def sign_in(base: str, username: str, password: str = PASSWORD, **extra: Any) -> Member:
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post(
            "/api/auth/login", json={"username": username, "password": password, **extra}
        )
        assert r.status_code == 200, r.text
        return Member(username, r.json()["token"], r.json()["user"])


async def status_of(base: str, member: Member, path: str = "/api/me") -> int:
    async with httpx.AsyncClient(base_url=base, headers=member.headers) as http:
        return (await http.get(path)).status_code


def error_code(r: httpx.Response) -> str:
    code: str = r.json()["error"]["code"]
    return code


# -- password change --------------------------------------------------------------------------


async def test_password_change_ends_the_other_sessions_and_their_sockets(
    cluster: Cluster, room: dict[str, Any]
) -> None:
    s0, s1 = cluster.servers
    me = await new_user(s0.base)
    other = await sign_in(s1.base, me.username)
    ws_mine, _ = await WS.enter(s0.ws_base, room["slug"], me)
    ws_other0, _ = await WS.enter(s0.ws_base, room["slug"], other)
    ws_other1, _ = await WS.enter(s1.ws_base, room["slug"], other)
    new_password = "another long passphrase"
    async with httpx.AsyncClient(base_url=s0.base, headers=me.headers) as http:
        wrong = await http.post(
            "/api/auth/password",
            json={"current_password": "not my password", "new_password": new_password},
        )
        assert wrong.status_code == 401 and error_code(wrong) == "bad_credentials"
        short = await http.post(
            "/api/auth/password", json={"current_password": PASSWORD, "new_password": "short"}
        )
        assert short.status_code == 422 and error_code(short) == "invalid"
        weak = await http.post(
            "/api/auth/password",
            json={"current_password": PASSWORD, "new_password": me.username},
        )
        assert weak.status_code == 422 and error_code(weak) == "weak_password"
        # Nothing changed so far: every session still works.
        assert await status_of(s1.base, other) == 200
        r = await http.post(
            "/api/auth/password",
            json={"current_password": PASSWORD, "new_password": new_password},
        )
        assert r.status_code == 204, r.text
    # The other session's sockets close on both processes, at once; this one's stay.
    assert (await expect_close(ws_other0))[0] == 4401
    assert (await expect_close(ws_other1))[0] == 4401
    assert await status_of(s1.base, other) == 401
    assert await status_of(s1.base, me) == 200
    await ws_mine.send({"type": "ping", "ref": "still"})
    assert (await ws_mine.next("pong"))["ref"] == "still"
    await ws_mine.close()
    # The old password is refused, the new one works.
    async with httpx.AsyncClient(base_url=s1.base) as http:
        old = await http.post(
            "/api/auth/login", json={"username": me.username, "password": PASSWORD}
        )
        assert old.status_code == 401
    await sign_in(s1.base, me.username, new_password)


async def test_password_change_needs_a_session(http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": "x" * 20}
    )
    assert r.status_code == 401 and error_code(r) == "unauthorized"


# -- disabling --------------------------------------------------------------------------------


async def test_disable_cuts_sockets_and_logins_and_enable_restores(
    cluster: Cluster, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = cluster.servers
    member = await new_user(s0.base)
    second = await sign_in(s1.base, member.username)
    ws0, _ = await WS.enter(s0.ws_base, room["slug"], member)
    ws1, _ = await WS.enter(s1.ws_base, room["slug"], second)
    async with httpx.AsyncClient(base_url=s1.base, headers=admin.headers) as http:
        r = await http.patch(f"/api/admin/users/{member.username.upper()}", json={"disabled": True})
        assert r.status_code == 200, r.text
        assert r.json()["user"]["disabled"] is True
        assert r.json()["user"]["username"] == member.username
        assert (await expect_close(ws0))[0] == 4401
        assert (await expect_close(ws1))[0] == 4401
        assert await status_of(s0.base, member) == 401
        assert await status_of(s0.base, second) == 401
        # A disabled account's login is refused exactly like a wrong password.
        for base in (s0.base, s1.base):
            async with httpx.AsyncClient(base_url=base) as anon:
                refused = await anon.post(
                    "/api/auth/login", json={"username": member.username, "password": PASSWORD}
                )
                wrong = await anon.post(
                    "/api/auth/login", json={"username": member.username, "password": "nope" * 3}
                )
            assert refused.status_code == wrong.status_code == 401
            assert refused.content == wrong.content
        # Not a socket either.
        ws = await WS.open(s0.ws_base, room["slug"], member)
        assert (await expect_close(ws))[0] == 4401

        listed = await http.get("/api/admin/users", params={"q": member.username})
        assert [u["disabled"] for u in listed.json()["users"]] == [True]

        r = await http.patch(f"/api/admin/users/{member.username}", json={"disabled": False})
        assert r.status_code == 200 and r.json()["user"]["disabled"] is False
    again = await sign_in(s1.base, member.username)
    ws, _ = await WS.enter(s0.ws_base, room["slug"], again)
    await ws.close()


async def test_disable_is_for_admins_and_checks_its_body(
    cluster: Cluster, admin: Member
) -> None:
    s0 = cluster.servers[0]
    member = await new_user(s0.base)
    async with httpx.AsyncClient(base_url=s0.base, headers=member.headers) as http:
        r = await http.patch(f"/api/admin/users/{member.username}", json={"disabled": True})
        assert r.status_code == 403
        assert (await http.get("/api/admin/users")).status_code == 403
    async with httpx.AsyncClient(base_url=s0.base, headers=admin.headers) as http:
        for body in ({"disabled": "yes"}, {}, {"disabled": True, "admin": True}):
            r = await http.patch(f"/api/admin/users/{member.username}", json=body)
            assert r.status_code == 422, (body, r.text)
        r = await http.patch("/api/admin/users/nobody-like-this", json={"disabled": True})
        assert r.status_code == 404
        r = await http.patch(f"/api/admin/users/{admin.username}", json={"disabled": True})
        assert r.status_code == 403  # not oneself
    assert await status_of(s0.base, member) == 200


# -- the admin's list of users ----------------------------------------------------------------


async def test_user_list_searches_pages_and_filters(cluster: Cluster, admin: Member) -> None:
    s0 = cluster.servers[0]
    tag = unique("ls")
    users = [await new_user(s0.base, prefix=f"{tag}-") for _ in range(3)]
    room = await make_room(s0.base, admin)
    async with httpx.AsyncClient(base_url=s0.base, headers=admin.headers) as http:
        r = await http.put(
            f"/api/admin/rooms/{room['slug']}/roles/{users[0].username}",
            json={"role": "facilitator"},
        )
        assert r.status_code == 200
        await http.patch(f"/api/admin/users/{users[1].username}", json={"disabled": True})

        found = (await http.get("/api/admin/users", params={"q": tag.upper()})).json()["users"]
        assert [u["username"] for u in found] == [u.username for u in reversed(users)]
        first = found[-1]
        assert first["roles"] == [{"room": room["slug"], "role": "facilitator"}]
        assert set(first) >= {"id", "username", "display_name", "is_admin", "disabled",
                              "created_at", "totp_enabled", "roles"}

        page = (await http.get("/api/admin/users", params={"q": tag, "limit": 2})).json()
        assert len(page["users"]) == 2
        rest = await http.get(
            "/api/admin/users", params={"q": tag, "before": page["users"][-1]["id"]}
        )
        assert [u["username"] for u in rest.json()["users"]] == [users[0].username]

        async def names(**params: str) -> list[str]:
            r = await http.get("/api/admin/users", params={"q": tag, **params})
            assert r.status_code == 200, r.text
            return sorted(u["username"] for u in r.json()["users"])

        assert await names(role="facilitator") == [users[0].username]
        assert await names(role="none") == sorted([users[1].username, users[2].username])
        assert await names(disabled="true") == [users[1].username]
        assert await names(disabled="false") == sorted([users[0].username, users[2].username])
        admins = (await http.get("/api/admin/users", params={"role": "admin"})).json()["users"]
        assert admin.username in [u["username"] for u in admins]
        # A `%` or `_` is a character to find, not a pattern.
        assert (await http.get("/api/admin/users", params={"q": "_"})).status_code == 200
        for bad in ({"q": "%"}, {"q": "x" * 33}, {"role": "owner"}, {"disabled": "maybe"},
                    {"limit": "0"}, {"limit": "501"}, {"before": "zz"}):
            r = await http.get("/api/admin/users", params=bad)
            assert r.status_code == 422, (bad, r.text)


# -- hearth create-admin ----------------------------------------------------------------------


async def test_create_admin_reset_ends_that_users_sessions(
    cluster: Cluster, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = cluster.servers
    member = await new_user(s0.base)
    await enrol(s0.base, member)  # and then lost the phone and the recovery codes
    ws0, _ = await WS.enter(s0.ws_base, room["slug"], member)
    ws1, _ = await WS.enter(s1.ws_base, room["slug"], member)
    bystander = await new_user(s0.base)
    disabled = await new_user(s0.base)
    async with httpx.AsyncClient(base_url=s0.base, headers=admin.headers) as http:
        r = await http.patch(f"/api/admin/users/{disabled.username}", json={"disabled": True})
        assert r.status_code == 200
    new_password = "reset by the operator"
    await asyncio.to_thread(
        hearth_cli, cluster.env, "create-admin", member.username, stdin=new_password + "\n"
    )
    # Each process notices within its check interval (1 s in the test settings).
    assert (await expect_close(ws0, timeout=10))[0] == 4401
    assert (await expect_close(ws1, timeout=10))[0] == 4401
    assert await status_of(s1.base, member) == 401
    assert await status_of(s1.base, bystander) == 200
    # The way back in: the second factor is off (to be set up again), the account enabled.
    promoted = await sign_in(s0.base, member.username, new_password)
    assert promoted.user["is_admin"] is True
    async with httpx.AsyncClient(base_url=s0.base, headers=promoted.headers) as http:
        assert (await http.get("/api/me")).json()["totp"]["enabled"] is False
    # A disabled account is enabled again by the reset.
    await asyncio.to_thread(
        hearth_cli, cluster.env, "create-admin", disabled.username, stdin=new_password + "\n"
    )
    await sign_in(s1.base, disabled.username, new_password)


# -- audited reads of recorded words ----------------------------------------------------------


async def test_transcript_reads_and_exports_are_audited(
    cluster: Cluster, admin: Member
) -> None:
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin, transcripts="opt_in")
    facilitator = await new_user(s0.base)
    async with httpx.AsyncClient(base_url=s0.base, headers=admin.headers) as http:
        await http.put(
            f"/api/admin/rooms/{room['slug']}/roles/{facilitator.username}",
            json={"role": "facilitator"},
        )
    ws, _ = await WS.enter(s0.ws_base, room["slug"], facilitator)
    await ws.send({"type": "consent", "recorded": True})
    await ws.next("consent")
    secret_words = "words that must never reach the audit log"
    await ws.send({"type": "send", "body": secret_words})
    await ws.next("message")
    await ws.close()
    async with httpx.AsyncClient(base_url=s1.base, headers=facilitator.headers) as http:
        for _ in range(50):  # a recorded row is numbered with the writer's next batch
            read = await http.get(f"/api/rooms/{room['slug']}/transcript", params={"limit": 7})
            assert read.status_code == 200
            if read.json()["messages"]:
                break
            await asyncio.sleep(0.05)
        assert len(read.json()["messages"]) == 1
        export = await http.get(
            f"/api/rooms/{room['slug']}/transcript/export",
            params={"format": "json", "since": 5},
        )
        assert export.status_code == 200
    async with httpx.AsyncClient(base_url=s0.base, headers=admin.headers) as http:
        r = await http.get("/api/admin/audit", params={"room": room["slug"]})
    entries = [e for e in r.json()["entries"] if e["action"].startswith("transcript.")]
    assert entries[0]["action"] == "transcript.export"
    assert {e["action"] for e in entries[1:]} == {"transcript.read"}
    exported, read_entry = entries[:2]
    assert read_entry["actor"] == {"id": facilitator.id, "username": facilitator.username}
    assert read_entry["details"] == {"after_seq": 0, "limit": 7}
    assert exported["details"]["format"] == "json" and exported["details"]["since"] == 5
    assert exported["details"]["messages"] == 1
    assert secret_words not in r.text


# -- the second factor ------------------------------------------------------------------------


async def enrol(base: str, member: Member) -> tuple[str, list[str]]:
    """Set up TOTP for `member`; (secret, recovery codes)."""
    async with httpx.AsyncClient(base_url=base, headers=member.headers) as http:
        r = await http.post("/api/auth/totp/setup")
        assert r.status_code == 200, r.text
        secret, uri = r.json()["secret"], r.json()["uri"]
        assert uri.startswith("otpauth://totp/Hearth:") and f"secret={secret}" in uri
        wrong = await http.post("/api/auth/totp/confirm", json={"code": "000000"})
        if pyotp.TOTP(secret).verify("000000", valid_window=1):  # 1 in 300,000
            wrong = await http.post("/api/auth/totp/confirm", json={"code": "abcdef"})
        assert wrong.status_code == 422
        r = await http.post("/api/auth/totp/confirm", json={"code": pyotp.TOTP(secret).now()})
        assert r.status_code == 200, r.text
        codes: list[str] = r.json()["recovery_codes"]
        me = (await http.get("/api/me")).json()
        assert me["totp"] == {"enabled": True, "setup_required": False}
    return secret, codes


async def test_totp_enrol_login_and_single_use_codes(cluster: Cluster) -> None:
    s0, s1 = cluster.servers
    member = await new_user(s0.base)
    secret, codes = await enrol(s0.base, member)
    assert len(codes) == 10 and len(set(codes)) == 10
    totp = pyotp.TOTP(secret)
    async with httpx.AsyncClient(base_url=s1.base) as http:

        async def attempt(**extra: str) -> httpx.Response:
            body = {"username": member.username, "password": PASSWORD, **extra}
            return await http.post("/api/auth/login", json=body)

        r = await attempt()
        assert r.status_code == 401 and error_code(r) == "totp_required"
        assert "set-cookie" not in r.headers
        r = await attempt(code="123")
        assert r.status_code == 401 and error_code(r) == "bad_credentials"
        # Wrong password with a right code: the password is refused as ever.
        r = await http.post("/api/auth/login", json={
            "username": member.username, "password": "wrong password", "code": totp.now()})
        assert r.status_code == 401 and error_code(r) == "bad_credentials"
        # The next step's code (one step of drift is allowed) works once, on any process.
        code = totp.at(time.time() + 30)
        assert (await attempt(code=code)).status_code == 200
        r = await attempt(code=code)
        assert r.status_code == 401 and error_code(r) == "bad_credentials"
        # A recovery code works once.
        assert (await attempt(code=codes[0].upper())).status_code == 200
        assert (await attempt(code=codes[0])).status_code == 401
        assert (await attempt(code=codes[1].replace("-", ""))).status_code == 200
    # Turning it off needs the password.
    async with httpx.AsyncClient(base_url=s0.base, headers=member.headers) as http:
        r = await http.post("/api/auth/totp/disable", json={"password": "wrong password"})
        assert r.status_code == 401
        r = await http.post("/api/auth/totp/disable", json={"password": PASSWORD})
        assert r.status_code == 204
    await sign_in(s1.base, member.username)


async def test_me_tells_when_the_session_ends(cluster: Cluster) -> None:
    s0 = cluster.servers[0]
    member = await new_user(s0.base)
    before = int(time.time() * 1000)
    async with httpx.AsyncClient(base_url=s0.base, headers=member.headers) as http:
        body = (await http.get("/api/me")).json()
    after = int(time.time() * 1000)
    assert body["user"]["username"] == member.username
    session = body["session"]
    # Defaults: 60 minutes idle, 12 hours at most; the request itself is activity.
    assert before + 3_600_000 - 2_000 <= session["expires_at"] <= after + 3_600_000
    assert session["idle_seconds"] == 3600
    assert session["expires_at"] <= session["absolute_expires_at"]
    assert session["absolute_expires_at"] <= after + 12 * 3_600_000
    assert body["totp"] == {"enabled": False, "setup_required": False}


async def test_password_guesses_on_a_session_count_as_failed_logins(cluster: Cluster) -> None:
    s0, s1 = cluster.servers
    member = await new_user(s0.base)
    body = {"current_password": "a wrong guess", "new_password": "whatever it may be"}
    async with httpx.AsyncClient(base_url=s0.base, headers=member.headers) as http:
        for _ in range(10):
            r = await http.post("/api/auth/password", json=body)
            assert r.status_code == 401 and error_code(r) == "bad_credentials"
        right = {"current_password": PASSWORD, "new_password": "whatever it may be"}
        r = await http.post("/api/auth/password", json=right)
        assert r.status_code == 429 and error_code(r) == "rate_limited"
        r = await http.post("/api/auth/totp/disable", json={"password": PASSWORD})
        assert r.status_code == 429
    async with httpx.AsyncClient(base_url=s1.base) as http:
        r = await http.post(
            "/api/auth/login", json={"username": member.username, "password": PASSWORD}
        )
        assert r.status_code == 429
