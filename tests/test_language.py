"""Language across real processes (PROTOCOL §7): users' language, Spanish crisis language
flagged in every room with each member's own resources, and the server's words in Spanish."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from server.rooms.settings import DEFAULT_CRISIS_RESOURCES_ES
from tests.conftest import make_room
from tests.support.client import PASSWORD, WS, Member, expect_close, new_user, unique
from tests.support.moderation import found, mod, new_facilitator, none_of, patch_room, say
from tests.support.servers import Cluster

SPANISH = {"Accept-Language": "es-MX,es;q=0.9"}


async def new_speaker(base: str, language: str) -> Member:
    """A fresh user registered with `language`, signed in."""
    username = unique("es" if language == "es" else "en")
    body = {"username": username, "password": PASSWORD, "language": language}
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post("/api/auth/register", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["user"]["language"] == language
        r = await http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return Member(username, r.json()["token"], r.json()["user"])


async def test_language_is_chosen_at_registration_and_changed_with_patch_me(
    cluster: Cluster,
) -> None:
    s0, s1 = cluster.servers
    english = await new_user(s0.base)
    assert english.user["language"] == "en"
    spanish = await new_speaker(s0.base, "es")
    assert spanish.user["language"] == "es"
    async with httpx.AsyncClient(base_url=s1.base, headers=english.headers) as http:
        r = await http.patch("/api/me", json={"language": "es"})
        assert r.status_code == 200, r.text
        assert r.json()["user"] == {**english.user, "language": "es"}
        r = await http.patch("/api/me", json={"display_name": "Rosa María"})
        assert r.json()["user"]["display_name"] == "Rosa María"
        assert r.json()["user"]["language"] == "es"
        me = await http.get("/api/me")
        assert me.json()["user"]["language"] == "es"
        assert me.json()["user"]["display_name"] == "Rosa María"
        # Bad values are refused, in the caller's language, and change nothing.
        for body in ({"language": "fr"}, {"language": None, "x": 1}, {"display_name": " "}):
            r = await http.patch("/api/me", json=body)
            assert r.status_code == 422, body
            assert r.json()["error"]["code"] == "invalid"
        r = await http.patch("/api/me", json={"language": "fr"})
        assert r.json()["error"]["message"] == "El idioma debe ser en (inglés) o es (español)."
        r = await http.patch("/api/me", json={"language": "en"})
        assert r.json()["user"]["language"] == "en"
        r = await http.patch("/api/me", json={"language": "fr"})
        assert r.json()["error"]["message"] == "language must be one of en, es"
        me = await http.get("/api/me")
        assert me.json()["user"]["display_name"] == "Rosa María"
    async with httpx.AsyncClient(base_url=s0.base) as http:
        r = await http.patch("/api/me", json={"language": "es"})
        assert r.status_code == 401
        body = {"username": unique("x"), "password": PASSWORD, "language": "klingon"}
        r = await http.post("/api/auth/register", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"


async def test_errors_before_sign_in_follow_the_browsers_language(cluster: Cluster) -> None:
    s0 = cluster.servers[0]
    async with httpx.AsyncClient(base_url=s0.base) as http:
        wrong = {"username": unique("nobody"), "password": "not the password"}
        r = await http.post("/api/auth/login", json=wrong, headers=SPANISH)
        assert r.status_code == 401
        assert r.json()["error"] == {
            "code": "bad_credentials",
            "message": "El nombre de usuario o la contraseña no son correctos.",
        }
        r = await http.post("/api/auth/login", json=wrong)
        assert r.json()["error"]["message"] == "wrong username or password"
        r = await http.get("/api/me", headers=SPANISH)
        assert r.json()["error"] == {"code": "unauthorized", "message": "Primero inicia sesión."}
        short = {"username": unique("u"), "password": "short", "language": "es"}
        r = await http.post("/api/auth/register", json=short)
        assert r.json()["error"]["message"] == "La contraseña debe tener de 8 a 128 caracteres."


async def test_rooms_carry_spanish_crisis_resources_an_admin_may_set(
    cluster: Cluster, admin: Member
) -> None:
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin)
    assert room["crisis_resources_es"] == DEFAULT_CRISIS_RESOURCES_ES
    assert "988" in room["crisis_resources_es"] and "AYUDA" in room["crisis_resources_es"]
    own = "Llama al 988 y oprime 2, o escribe AYUDA al 988. La línea local: 800 555 0100."
    updated = await patch_room(s1.base, admin, room["slug"], crisis_resources_es=own)
    assert updated["crisis_resources_es"] == own
    async with httpx.AsyncClient(base_url=s0.base, headers=admin.headers) as http:
        r = await http.patch(f"/api/admin/rooms/{room['slug']}", json={"crisis_resources_es": ""})
        assert r.status_code == 422
        r = await http.get("/api/admin/audit", params={"room": room["slug"]})
        changes = [
            e["details"]["changes"] for e in r.json()["entries"] if e["action"] == "room.update"
        ]
        assert changes == [{"crisis_resources_es": [DEFAULT_CRISIS_RESOURCES_ES, own]}]


async def test_spanish_crisis_language_is_flagged_and_each_member_gets_help_in_their_language(
    cluster: Cluster, admin: Member
) -> None:
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin)
    slug = room["slug"]
    fac = await new_facilitator(s0.base, admin, slug)
    rosa, sam, bystander = (
        await new_speaker(s1.base, "es"),
        await new_speaker(s0.base, "en"),
        await new_speaker(s0.base, "es"),
    )
    f, _ = await WS.enter(s0.ws_base, slug, fac)
    r, welcome = await WS.enter(s1.ws_base, slug, rosa)
    assert welcome["you"]["user"]["language"] == "es"
    assert welcome["room"]["crisis_resources_es"] == DEFAULT_CRISIS_RESOURCES_ES
    s, _ = await WS.enter(s0.ws_base, slug, sam)
    b, _ = await WS.enter(s1.ws_base, slug, bystander)
    # A Spanish speaker writes in Spanish: flagged, delivered, help in Spanish.
    # (Five sends in five seconds at most: the variants are in test_language_parts.py.)
    for i, body in enumerate(["Me quiero matar", "“ya no quiero   vivir”"]):
        await say(r, body, f"es{i}")
        sent = await r.next("message", ref=f"es{i}")
        assert sent["body"] == body
        assert (await b.next("message"))["id"] == sent["id"]
        flag = await f.next("flag")
        assert flag["hook"] == "crisis" and flag["user_id"] == rosa.id
        assert flag["message_id"] == sent["id"] and flag["excerpt"] == body
        notice = await r.next("notice")
        assert notice == {
            "type": "notice",
            "kind": "crisis_resources",
            "text": DEFAULT_CRISIS_RESOURCES_ES,
        }
    # An English speaker in the same room, writing Spanish or English: help in English.
    for body in ("no quiero vivir", "I want to die"):
        await say(s, body)
        assert (await f.next("flag"))["user_id"] == sam.id
        notice = await s.next("notice")
        assert notice["text"] == room["crisis_resources"]
    # A Spanish speaker writing English is heard too, and answered in Spanish.
    await say(r, "I can't go on")
    assert (await f.next("flag"))["user_id"] == rosa.id
    assert (await r.next("notice"))["text"] == DEFAULT_CRISIS_RESOURCES_ES
    # Everyday Spanish, idioms included, raises nothing.
    marks = {ws: len(ws.seen) for ws in (f, b, r)}
    await say(r, "Me muero de risa con lo que contó Javier")
    await r.next("message")
    await none_of(f, "flag", since=marks[f])
    await none_of(b, "notice", 0.0, since=marks[b])
    await none_of(r, "notice", 0.0, since=marks[r])
    # The room's own Spanish text, once set, is what Spanish speakers get.
    own = "Llama al 988 y oprime 2. Tu facilitadora está aquí."
    await patch_room(s0.base, admin, slug, crisis_resources_es=own)
    await r.next("room")
    await asyncio.sleep(1.1)  # both processes hold the new settings
    await say(r, "no le encuentro sentido a la vida")
    assert (await r.next("notice"))["text"] == own
    for ws in (f, r, s, b):
        await ws.close()


async def test_crisis_language_sent_while_muted_is_answered_in_spanish(
    cluster: Cluster, admin: Member
) -> None:
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin)
    slug = room["slug"]
    fac = await new_facilitator(s0.base, admin, slug)
    rosa = await new_speaker(s1.base, "es")
    f, _ = await WS.enter(s0.ws_base, slug, fac)
    r, _ = await WS.enter(s1.ws_base, slug, rosa)
    await mod(f, "mute", user_id=rosa.id)
    await r.next("moderation", action="mute")
    mark = len(r.seen)
    await say(r, "me quiero morir", "m1")
    refused = await r.next("error", ref="m1")
    assert refused["code"] == "muted"
    assert refused["message"] == "Alguien del equipo de facilitación te silenció por ahora."
    # The notice comes through the room's channel: before or after the refusal.
    notice = await found(r, mark, "notice")
    assert notice["text"] == DEFAULT_CRISIS_RESOURCES_ES
    flag = await f.next("flag")
    assert flag["hook"] == "crisis" and flag["user_id"] == rosa.id
    for ws in (f, r):
        await ws.close()


async def test_the_servers_words_reach_a_spanish_speaker_in_spanish(
    cluster: Cluster, admin: Member
) -> None:
    s0, s1 = cluster.servers
    room = await make_room(
        s0.base, admin, max_message_chars=20, blocked_terms=["cabrón"], contact_details="warn"
    )
    slug = room["slug"]
    rosa, sam = await new_speaker(s1.base, "es"), await new_speaker(s0.base, "en")
    r, _ = await WS.enter(s1.ws_base, slug, rosa)
    s, _ = await WS.enter(s0.ws_base, slug, sam)
    await say(r, "x" * 21, "long")
    error = await r.next("error", ref="long")
    assert error["code"] == "too_long"
    assert error["message"] == "El mensaje tiene más de 20 caracteres."
    await say(s, "x" * 21, "long")
    assert (await s.next("error", ref="long"))["message"] == "body is longer than 20 characters"
    await say(r, "eres un CABRON", "bt")
    error = await r.next("error", ref="bt")
    assert error["code"] == "rejected"
    assert error["message"] == "Una regla de moderación no permitió este mensaje."
    assert error["reason"] == "Este mensaje usa una palabra que el grupo acordó no usar."
    await say(r, "ana@correo.mx", "cd")
    await r.next("message", ref="cd")
    notice = await r.next("notice")
    assert notice["kind"] == "contact_details"
    assert notice["text"].startswith("Compartir números de teléfono o correos")
    await r.send({"type": "mod", "action": "lock"})
    error = await r.next("error")
    assert error == {
        "type": "error",
        "code": "forbidden",
        "message": "Solo quienes facilitan pueden hacer eso.",
    }
    await r.send("not json")
    assert (await r.next("error"))["message"] == "El mensaje no es texto JSON válido."
    for ws in (r, s):
        await ws.close()


async def test_refusals_and_closes_are_in_the_users_language(
    cluster: Cluster, admin: Member
) -> None:
    s0, s1 = cluster.servers
    members_only = await make_room(s0.base, admin, access="members")
    rosa = await new_speaker(s1.base, "es")
    ws = await WS.open(s1.ws_base, members_only["slug"], rosa)
    assert await expect_close(ws) == (4403, "No tienes acceso a esta sala.")
    ws = await WS.open(s0.ws_base, "no-such-room-" + unique("x"), rosa)
    assert await expect_close(ws) == (4404, "Esa sala no existe.")
    ws = await WS.open(s0.ws_base, members_only["slug"], None, headers=SPANISH)
    assert await expect_close(ws) == (4401, "Primero inicia sesión.")
    room = await make_room(s0.base, admin)
    fac = await new_facilitator(s0.base, admin, room["slug"])
    f, _ = await WS.enter(s0.ws_base, room["slug"], fac)
    r, _ = await WS.enter(s1.ws_base, room["slug"], rosa)
    await mod(f, "remove", user_id=rosa.id)
    code, reason = await expect_close(r)
    assert (code, reason) == (4408, "Te retiraron de la sala.")
    await f.close()


async def test_the_transcript_export_speaks_the_readers_language(
    cluster: Cluster, admin: Member
) -> None:
    s0 = cluster.servers[0]
    room = await make_room(s0.base, admin, transcripts="opt_in")
    fac = await new_facilitator(s0.base, admin, room["slug"])
    async with httpx.AsyncClient(base_url=s0.base, headers=fac.headers) as http:
        url = f"/api/rooms/{room['slug']}/transcript/export"
        english = await http.get(url)
        assert english.status_code == 200, english.text
        assert english.text.startswith("# Transcript: Test room")
        assert (await http.patch("/api/me", json={"language": "es"})).status_code == 200
        spanish = await http.get(url)
        assert spanish.text.startswith("# Transcripción: Test room")
        assert "_No hay mensajes guardados en este periodo._" in spanish.text
        as_json: dict[str, Any] = (await http.get(url, params={"format": "json"})).json()
        assert as_json["notice"].startswith("Solo se incluyen los mensajes")
        r = await http.get(url, params={"format": "pdf"})
        assert r.json()["error"] == {"code": "invalid", "message": "El formato debe ser md o json."}
