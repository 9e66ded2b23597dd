"""The browser client in Spanish (PROTOCOL §7): a Spanish-speaking member's whole flow shows
no English text on any screen and stays axe-core clean at 360 and 1280 px; the language
follows the browser before sign-in, the account after, and is switchable on every page."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page
from playwright.async_api import expect as pw_expect

from server.rooms.settings import DEFAULT_CRISIS_RESOURCES_ES

from .conftest import AdminApi, NewPage
from .hearth_pages import sign_in, unique_name
from .hearth_server import PASSWORD, TIMEOUT_MS, Server

pytestmark = pytest.mark.xdist_group("browser")

LANG = Path(__file__).resolve().parents[2] / "server" / "static" / "js" / "lang"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
_AXE = resources.files("axe_playwright_python").joinpath("axe.min.js").read_text()
WIDTHS = (1280, 360)


def catalogue(language: str) -> dict[str, Any]:
    """A catalogue module's default export, read by Node.js as the browser reads it."""
    script = (
        f"const m = await import({json.dumps((LANG / f'{language}.js').as_uri())});"
        "process.stdout.write(JSON.stringify(m.default));"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _values(entry: Any) -> list[str]:
    return list(entry.values()) if isinstance(entry, dict) else [entry]


def english_fragments() -> list[re.Pattern[str]]:
    """Whole-word patterns for every piece of English the catalogue holds that Spanish says
    differently (text between placeholders, with letters in it)."""
    en, es = catalogue("en"), catalogue("es")
    pieces: set[str] = set()
    for key, entry in en.items():
        spanish = " ".join(_values(es.get(key, "")))
        for value in _values(entry):
            for piece in re.split(r"\{\w+\}", value):
                piece = piece.strip(" .,:;()·—-")
                if re.search(r"[A-Za-z]{2}", piece) and piece not in spanish:
                    pieces.add(piece)
    return [re.compile(rf"(?<!\w){re.escape(p)}(?!\w)") for p in sorted(pieces)]


ENGLISH = english_fragments()

_RENDERED_TEXT = """() => {
  const out = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement && node.parentElement.closest('script, style, noscript')) continue;
    const text = node.textContent.trim();
    if (text) out.push(text);
  }
  for (const e of document.querySelectorAll('[aria-label], [placeholder], [title], [alt]')) {
    for (const name of ['aria-label', 'placeholder', 'title', 'alt']) {
      const value = e.getAttribute(name);
      if (value) out.push(value);
    }
  }
  return out;
}"""


async def _user_texts(page: Page) -> set[str]:
    """What people wrote (room titles and descriptions, by other tests too): not the page's
    own words, so not held to the catalogue."""
    answer = await _api(page, "GET", "/api/rooms")
    rooms = answer.get("rooms", []) if isinstance(answer, dict) else []
    return {r[k] for r in rooms for k in ("title", "description") if isinstance(r.get(k), str)}


async def check_screen(page: Page, screen: str) -> None:
    """At 1280 and 360 px: `<html lang="es">`, no English from the catalogue anywhere in the
    page (text, labels, placeholders, titles), and no WCAG 2.2 A/AA violation (axe-core)."""
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 800})
        assert await page.evaluate("document.documentElement.lang") == "es", screen
        texts = [t for t in await page.evaluate(_RENDERED_TEXT) if t not in await _user_texts(page)]
        english = sorted({p.pattern for t in texts for p in ENGLISH if p.search(t)})
        assert english == [], f"{screen} at {width} px shows English: {english} in {texts}"
        if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
            await page.evaluate(_AXE)
        result = await page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
            " resultTypes: ['violations']})",
            WCAG_TAGS,
        )
        found = [(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in result["violations"]]
        assert found == [], f"{screen} at {width} px: {found}"
    await page.set_viewport_size({"width": WIDTHS[0], "height": 800})


@pytest.fixture
async def spanish_browser(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A browser whose person reads Spanish (navigator.languages and Accept-Language)."""
    context = await browser.new_context(locale="es-MX", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context
    await context.close()
    assert errors == []


def _placeholders(entry: Any) -> set[str]:
    return {p for value in _values(entry) for p in re.findall(r"\{(\w+)\}", value)}


def test_spanish_has_every_english_key_with_the_same_placeholders() -> None:
    en, es = catalogue("en"), catalogue("es")
    assert sorted(es) == sorted(en)
    for key, entry in en.items():
        assert type(es[key]) is type(entry), key
        if isinstance(entry, dict):  # plural forms: Spanish needs `one` and `other`
            assert set(es[key]) == {"one", "other"}, key
        assert _placeholders(es[key]) == _placeholders(entry), key
        assert all(value.strip() for value in _values(es[key])), key
    # A Spanish text that is still the English one is a missed translation (a few are the
    # same in both: placeholders and punctuation only).
    words = re.compile(r"[A-Za-z]{3}")
    same = sorted(
        k for k, v in en.items() if v == es[k] and words.search(re.sub(r"\{\w+\}", "", str(v)))
    )
    assert same == []


async def send(page: Page, body: str) -> None:
    """Type a message in the Spanish composer and press Enter."""
    box = page.get_by_role("textbox", name="Mensaje")
    await box.fill(body)
    await box.press("Enter")


async def _api(page: Page, method: str, path: str, body: Any = None) -> Any:
    return await page.evaluate(
        """async ([method, path, body]) => {
             const init = {method, headers: {'Content-Type': 'application/json'}};
             if (body !== null) init.body = JSON.stringify(body);
             const r = await fetch(path, init);
             return r.status === 204 ? null : r.json();
           }""",
        [method, path, body],
    )


async def test_a_spanish_speaker_does_everything_in_spanish(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage, spanish_browser: BrowserContext
) -> None:
    agreement = "Lo que se dice aquí, aquí se queda.\nEscuchamos sin juzgar."
    room = await admin_api.create_room(
        title="Círculo del martes",
        description="Un espacio tranquilo para platicar.",
        access="approval",
        agreement=agreement,
    )
    facilitator_name, rosa_name = unique_name("lucia"), unique_name("rosa")
    await admin_api.register(facilitator_name, "Lucía")
    response = await admin_api.client.put(
        f"/api/admin/rooms/{room['slug']}/roles/{facilitator_name}", json={"role": "facilitator"}
    )
    assert response.status_code == 200, response.text

    # Before signing in, the page speaks the browser's language.
    rosa = await spanish_browser.new_page()
    await rosa.goto(f"{hearth_server.base_url}/")
    await pw_expect(rosa.get_by_role("heading", name="Qué bueno verte de nuevo")).to_be_visible()
    await check_screen(rosa, "sign-in")
    await rosa.get_by_role("button", name="¿Eres nuevo o nueva? Crea una cuenta").click()
    await pw_expect(rosa.get_by_role("heading", name="Crea una cuenta")).to_be_visible()
    await check_screen(rosa, "register")
    await rosa.get_by_label("Nombre de usuario").fill(rosa_name)
    await rosa.get_by_label("Nombre visible (opcional)").fill("Rosa")
    await rosa.get_by_label("Contraseña").fill(PASSWORD)
    await rosa.get_by_role("button", name="Crear cuenta").click()
    await pw_expect(rosa.get_by_role("heading", name="Tus salas")).to_be_visible()
    assert (await _api(rosa, "GET", "/api/me", None))["user"]["language"] == "es"
    await check_screen(rosa, "rooms")

    facilitator = await new_page()
    await sign_in(facilitator, hearth_server, facilitator_name)
    await facilitator.goto(f"{hearth_server.base_url}/#/room/{room['slug']}")
    await facilitator.get_by_role("button", name="I accept").click()
    await pw_expect(facilitator.get_by_role("heading", name="Facilitator tools")).to_be_visible()

    # The agreement, the waiting room, then the chat.
    await rosa.get_by_role("link", name="Círculo del martes").click()
    await pw_expect(rosa.get_by_role("heading", name="Nuestro acuerdo de grupo")).to_be_visible()
    await pw_expect(rosa.locator(".agreement-text")).to_have_text(agreement)
    await check_screen(rosa, "agreement")
    await rosa.get_by_role("button", name="Acepto").click()
    await pw_expect(rosa.get_by_role("heading", name="Esperando para entrar")).to_be_visible()
    await check_screen(rosa, "waiting")
    knock = facilitator.locator(".knock", has_text="Rosa")
    await knock.get_by_role("button", name="Admit").click()
    box = rosa.get_by_role("textbox", name="Mensaje")
    await pw_expect(box).to_be_visible()
    await send(rosa, "Hola a todos, gracias por estar aquí.")
    mine = rosa.locator(".message[data-id]", has_text="gracias por estar aquí")
    await pw_expect(mine).to_have_count(1)
    # Times in the person's language, through formatDate.
    stamp = mine.locator("time")
    expected = await stamp.evaluate(
        "t => new Intl.DateTimeFormat('es', {dateStyle: 'medium', timeStyle: 'short'})"
        ".format(new Date(t.dateTime))"
    )
    assert await stamp.get_attribute("title") == expected
    await check_screen(rosa, "chat")

    # Crisis language in Spanish: delivered, and help in Spanish only she can see.
    await send(rosa, "a veces me quiero morir")
    panel = rosa.get_by_role("alert", name="No estás solo ni sola")
    await pw_expect(panel).to_be_visible()
    assert await panel.locator(".crisis-text").text_content() == DEFAULT_CRISIS_RESOURCES_ES
    await pw_expect(facilitator.locator(".flag", has_text="me quiero morir")).to_have_count(1)
    await check_screen(rosa, "crisis notice")

    # A facilitator checks in with her privately: the check-in is named in Spanish, in the
    # pane and in her list of rooms (the server names every check-in room "Check-in").
    flag = facilitator.locator(".flag", has_text="me quiero morir")
    await flag.get_by_role("button", name="Check in privately with Rosa").click()
    pane = rosa.locator(".checkin-pane")
    await pw_expect(pane.get_by_role("heading", name="Conversación privada")).to_be_visible()
    await rosa.goto(f"{hearth_server.base_url}/#/")
    await pw_expect(rosa.get_by_role("heading", name="Tus salas")).to_be_visible()
    await pw_expect(rosa.get_by_role("link", name="Conversación privada")).to_be_visible()
    await check_screen(rosa, "rooms with a check-in")
    await rosa.get_by_role("link", name="Conversación privada").click()
    heading = rosa.get_by_role("heading", name="Conversación privada", level=1)
    await pw_expect(heading).to_be_visible()
    await check_screen(rosa, "check-in room")


async def test_the_language_is_switchable_on_every_page_and_saved(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Evening circle")
    name = unique_name("sam")
    await admin_api.register(name, "Sam")
    page = await new_page()
    await page.goto(f"{hearth_server.base_url}/")
    # Signed out: English (the browser's), switchable, and it stays on the select.
    await page.get_by_label("Language").select_option("es")
    await pw_expect(page.get_by_role("heading", name="Qué bueno verte de nuevo")).to_be_visible()
    assert await page.evaluate("document.documentElement.lang") == "es"
    await pw_expect(page.get_by_label("Idioma")).to_be_focused()
    await page.get_by_label("Idioma").select_option("en")
    await sign_in(page, hearth_server, name)  # the account's language: English
    # Signed in: the choice is saved to the account and survives a reload.
    await page.get_by_label("Language").select_option("es")
    await pw_expect(page.get_by_role("heading", name="Tus salas")).to_be_visible()
    await page.reload()
    await pw_expect(page.get_by_role("heading", name="Tus salas")).to_be_visible()
    assert (await _api(page, "GET", "/api/me", None))["user"]["language"] == "es"
    # In a room too; the room reconnects speaking the new language.
    await page.goto(f"{hearth_server.base_url}/#/room/{room['slug']}")
    await pw_expect(page.get_by_role("textbox", name="Mensaje")).to_be_visible()
    await page.get_by_label("Idioma").select_option("en")
    await pw_expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    await page.get_by_label("Language").select_option("es")
    await pw_expect(page.get_by_role("textbox", name="Mensaje")).to_be_visible()
    await page.get_by_label("Idioma").select_option("en")
    await pw_expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    assert (await _api(page, "GET", "/api/me", None))["user"]["language"] == "en"
    assert await page.evaluate("document.documentElement.lang") == "en"
