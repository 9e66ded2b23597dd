"""Language without a server (PROTOCOL §7): the Spanish crisis phrases and their folding,
everyday Spanish that must not trigger them, blocked terms and contact details on Spanish
text, and the server's words translated at the edge."""

from __future__ import annotations

import ast
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from server.language import localizer, preferred_language, translate
from server.language.spanish import EXACT, TEMPLATES
from server.moderation.builtin import (
    CrisisLanguage,
    blocked_terms,
    contact_details,
    crisis_resources_for,
    find_contact_details,
    load_phrases,
)
from server.moderation.phrases import PhraseMatcher, fold, unaccent, words
from server.moderation.verdicts import Allow, Flag, MessageContext, Reject
from server.rooms.hub import Conn
from server.rooms.settings import (
    DEFAULT_CRISIS_RESOURCES,
    DEFAULT_CRISIS_RESOURCES_ES,
    RoomView,
    SettingsError,
    apply_settings,
)
from server.transcripts.export import as_json, as_markdown
from server.wire.out import encode, error_frame

ROOT = Path(__file__).resolve().parent.parent
CRISIS = CrisisLanguage(load_phrases(None))


def everyday_spanish() -> list[str]:
    path = Path(__file__).parent / "data" / "spanish_everyday.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def ctx(body: str, language: str = "en", **settings: Any) -> MessageContext:
    room = RoomView(id="r", slug="room-1", title="Room").public()
    return MessageContext(body, "u1", "Rosa", "member", "room-1", {**room, **settings}, language)


# -- folding -------------------------------------------------------------------------------


def test_fold_drops_case_accents_punctuation_quotes_and_spacing() -> None:
    assert fold("“Me  QUIERO\t\n matar”—¡ya!") == "me quiero matar ya"
    assert fold("Daño, SUICIDARME, ñandú, pingüino") == "dano suicidarme nandu pinguino"
    assert fold("n\u0303 e\u0301") == "n e"  # decomposed accents go too
    assert fold("me-quiero-matar") == "me quiero matar"
    assert fold("‘quiero’ «morir» ¿sí?") == "quiero morir si"
    assert fold("") == ""


def test_words_squeeze_long_runs_and_read_chat_spellings() -> None:
    assert words("Quierooo morirrr") == ["quiero", "morir"]
    assert words("llorar carro") == ["llorar", "carro"]  # two of a letter are Spanish
    assert words("me kiero matar") == ["me", "quiero", "matar"]


def test_unaccent_keeps_enye() -> None:
    assert unaccent("Cabrón, güey, ÁNIMO") == "Cabron, guey, ANIMO"
    assert unaccent("año") == "año" and unaccent("an\u0303o") == "año"


def test_phrase_matcher_matches_whole_words_in_order() -> None:
    matcher = PhraseMatcher(["me quiero matar", "suicidarme"])
    assert matcher.search("hoy ME QUIERO   MATAR.")
    assert matcher.search("pienso en suicidarme")
    assert not matcher.search("me quiero matricular")
    assert not matcher.search("matar me quiero")
    assert not matcher.search("me quiero")
    assert not PhraseMatcher([]).search("me quiero matar")


def test_the_matcher_takes_linear_time_on_hostile_bodies() -> None:
    """No backtracking: eight times the text costs about eight times the time (a quadratic
    matcher would cost 64 times)."""

    def cost(body: str) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            CRISIS.matches(body)
            best = min(best, time.perf_counter() - start)
        return best

    for unit in ("me quiero ", "quiero ", "a", "e\u0301", "no quiero seguir ", "“‘ "):
        small, large = unit * (1250 // len(unit)), unit * (10000 // len(unit))
        assert cost(large) < 20 * cost(small) + 0.002, unit
        start = time.perf_counter()
        CRISIS.matches(large)
        assert time.perf_counter() - start < 0.25, unit


# -- Spanish crisis language ---------------------------------------------------------------

SPANISH_CRISIS = [
    "Quiero morir",
    "ya no quiero vivir",
    "No quiero vivir más así",
    "Me quiero matar",
    "me kiero matar",
    "Me  quiero    matar",
    "Me-quiero-matar",
    "ME QUIERO SUICIDAR",
    "“me quiero suicidar”",
    "pienso en suicidarme todos los días",
    "suicidarme",
    "hoy pensé en quitarme la vida",
    "Quiero quitarme la vida",
    "tengo ganas de hacerme daño",
    "tengo ganas de hacerme dano",
    "no quiero seguir viviendo",
    "quisiera estar muerta",
    "ojalá estuviera muerto",
    "ojala estuviera muerto",
    "estarían mejor sin mí",
    "estarian mejor sin mi",
    "me quiero morir",
    "me quiero morir de vergüenza",  # flagged on purpose (crisis_phrases_es.txt)
    "quiero morir de hambre",  # flagged on purpose
    "quierooo morirrr",
    "quiero   morirme",
    "voy a matarme",
    "intenté matarme el año pasado",
    "he pensado en matarme",
    "me voy a suicidar esta noche",
    "tengo pensamientos suicidas",
    "ya no puedo más",
    "mi vida no tiene sentido",
    "no le encuentro sentido a la vida",
    "quiero acabar con todo",
    "quiero terminar con mi vida",
    "me corto los brazos cuando estoy triste",
    "me volví a cortar las venas",
    "me corté las muñecas",
    "quiero desaparecer",
    "me voy a tomar todas las pastillas",
    "quiero tirarme de un puente",
    "pienso en ahorcarme",
    "estoy cansada de vivir",
    "no tengo razones para vivir",
    "la vida no vale la pena",
    "me autolesiono",
    "ojalá no despertara mañana",
    "quisiera dormir y no despertar",
    "vivir ya no vale la pena",
    "ya no quiero estar en este mundo",
]


@pytest.mark.parametrize("body", SPANISH_CRISIS)
def test_spanish_crisis_language_is_found(body: str) -> None:
    assert CRISIS.matches(body)


def test_everyday_spanish_does_not_trigger_the_crisis_rules() -> None:
    sentences = everyday_spanish()
    assert len(sentences) >= 200
    assert [s for s in sentences if CRISIS.matches(s)] == []


def test_both_languages_run_whatever_list_replaces_either(tmp_path: Path) -> None:
    english = tmp_path / "en.txt"
    english.write_text("blue moon\n", encoding="utf-8")
    only_english_replaced = CrisisLanguage(load_phrases(english))
    assert only_english_replaced.matches("me quiero matar")
    assert only_english_replaced.matches("once in a blue moon")
    spanish = tmp_path / "es.txt"
    spanish.write_text("# mine\nluna   azul\n", encoding="utf-8")
    both_replaced = CrisisLanguage(load_phrases(english), load_phrases(spanish))
    assert both_replaced.matches("una LUNA azul") and not both_replaced.matches("me quiero matar")
    assert CRISIS.matches("I want to die") and CRISIS.matches("quiero morir")


async def test_the_crisis_notice_is_in_the_authors_language() -> None:
    spanish = await CRISIS(ctx("no quiero vivir", "es"))
    assert spanish == Flag("crisis language", DEFAULT_CRISIS_RESOURCES_ES, protect=True)
    english = await CRISIS(ctx("no quiero vivir", "en"))
    assert english == Flag("crisis language", DEFAULT_CRISIS_RESOURCES, protect=True)
    assert await CRISIS(ctx("me muero de risa", "es")) == Allow()
    settings: dict[str, object] = {
        "crisis_resources": "Call 988.",
        "crisis_resources_es": "Llama al 988 y oprime 2.",
    }
    assert crisis_resources_for(settings, "es") == "Llama al 988 y oprime 2."
    assert crisis_resources_for(settings, "en") == "Call 988."
    assert crisis_resources_for({"crisis_resources": "Call 988."}, "es") == "Call 988."


def test_the_spanish_default_names_988_press_2_and_ayuda() -> None:
    text = DEFAULT_CRISIS_RESOURCES_ES
    assert "988" in text and "oprime 2" in text and "AYUDA" in text and "911" in text


def test_crisis_resources_es_is_a_room_setting() -> None:
    room = RoomView(id="r", slug="room-1", title="Room")
    assert room.public()["crisis_resources_es"] == DEFAULT_CRISIS_RESOURCES_ES
    changed, diff = apply_settings(room, {"crisis_resources_es": "Llama al 988 y oprime 2."})
    assert changed.crisis_resources_es == "Llama al 988 y oprime 2."
    assert diff == {
        "crisis_resources_es": [DEFAULT_CRISIS_RESOURCES_ES, changed.crisis_resources_es]
    }
    for bad in ("", "x" * 5001, 7, None):
        with pytest.raises(SettingsError):
            apply_settings(room, {"crisis_resources_es": bad})


# -- blocked terms and contact details on Spanish text --------------------------------------


async def test_blocked_terms_match_with_or_without_accents_but_keep_enye() -> None:
    terms: dict[str, Any] = {"blocked_terms": ["cabrón", "pendejo", "ano"]}
    for body in ("¡Eres un CABRÓN!", "eres un cabron", "qué pendéjo", "PENDEJO"):
        assert isinstance(await blocked_terms(ctx(body, **terms)), Reject), body
    for body in ("Feliz año nuevo", "el AÑO pasado", "cabrones no", "un pendejito"):
        assert await blocked_terms(ctx(body, **terms)) == Allow(), body


@pytest.mark.parametrize(
    "body",
    [
        "escríbeme a josé.peña@correo.mx",
        "mi correo es MARÍA_ñandú@ejemplo.com.mx",
        "llámame al 55 1234 5678",
        "mi cel: +52 (55) 1234-5678",
        "márcame al 559-555-0123 después de las seis",
    ],
)
def test_contact_details_are_found_in_spanish(body: str) -> None:
    assert find_contact_details(body)


@pytest.mark.parametrize(
    "body",
    [
        "nos vemos el 15-01-2024 en la clínica",
        "del 2019-2024 viví en Fresno",
        "el 03.02.2023 cumplí un año limpio",
        "mi cita es el 15/01/2025 a las 10:30",
        "tengo 3 hijos y 2 nietos",
        "llevo 365 días sin tomar",
    ],
)
def test_spanish_dates_and_numbers_are_not_contact_details(body: str) -> None:
    assert not find_contact_details(body)


async def test_the_contact_details_notice_reaches_a_spanish_member_in_spanish() -> None:
    verdict = await contact_details(ctx("escríbeme a ana@correo.mx", "es", contact_details="warn"))
    assert isinstance(verdict, Flag) and verdict.notice_author is not None
    notice = encode({"type": "notice", "kind": "contact_details", "text": verdict.notice_author})
    spanish = localizer("es")
    assert spanish is not None
    text = orjson.loads(spanish.frame(notice))["text"]
    assert text.startswith("Compartir números de teléfono")


# -- the server's words ---------------------------------------------------------------------


def test_translate_whole_texts_and_templates() -> None:
    assert translate("no such room", "es") == "Esa sala no existe."
    assert translate("no such room", "en") == "no such room"
    assert translate("removed: you may rejoin in 3 min", "es").endswith("volver en 3 min.")
    assert translate("title must be from 1 to 200", "es") == "title debe estar entre 1 y 200."
    assert (
        translate(
            "this message uses a term this group has agreed not to use (delivered: crisis)", "es"
        )
        == "Este mensaje usa una palabra que el grupo acordó no usar. (entregado: crisis)"
    )
    # What is not the server's own passes unchanged, however long.
    assert translate("hola, ¿cómo están?", "es") == "hola, ¿cómo están?"
    assert translate("x" * 5000, "es") == "x" * 5000
    assert translate("unknown action: ", "es") == "unknown action: "  # an empty hole
    assert (
        translate("crisis language (sent while the room was locked)", "es")
        == "lenguaje de crisis (enviado mientras la sala estaba cerrada)"
    )


def test_every_template_fills_all_its_holes() -> None:
    for english, spanish in TEMPLATES:
        holes = english.count("{}")
        values = [f"<{i}>" for i in range(holes)]
        filled = spanish.format(*values)
        assert all(v in filled for v in values), english
        assert "{" not in filled.replace("{weekday", ""), english
        assert translate(english.replace("{}", "<x>"), "es") != english.replace("{}", "<x>")


def test_a_localizer_translates_only_the_servers_frames_and_keeps_codes() -> None:
    spanish = localizer("es")
    assert spanish is not None and localizer("en") is None
    error = orjson.loads(
        spanish.frame(error_frame("too_long", "body is longer than 5 characters", "r1"))
    )
    assert error == {
        "type": "error",
        "code": "too_long",
        "message": "El mensaje tiene más de 5 caracteres.",
        "ref": "r1",
    }
    rejected = error_frame(
        "rejected",
        "a moderation rule refused this message",
        None,
        None,
        "this message uses a term this group has agreed not to use",
    )
    decoded = orjson.loads(spanish.frame(rejected))
    assert decoded["code"] == "rejected" and decoded["reason"].startswith("Este mensaje usa")
    # A member's words are never touched, even when they look like the server's.
    message = encode({"type": "message", "body": "no such room", "ts": 1})
    assert spanish.frame(message) is message
    notice = encode({"type": "notice", "kind": "crisis_resources", "text": "Llama al 988."})
    assert spanish.frame(notice) == notice


def test_a_spanish_close_reason_fits_in_a_close_frame() -> None:
    spanish = localizer("es")
    conn = Conn(
        "c", "room", "u", "rosa", "Rosa", False, "member", "s", 8, language="es", localizer=spanish
    )
    conn.stop(4403, "removed: you may rejoin in 30 min")
    assert conn.close_reason == "Te retiraron de la sala: puedes volver en 30 min."
    long = Conn("c", "room", "u", "rosa", "Rosa", False, "member", "s", 8)
    long.stop(4408, "ñ" * 200)
    assert len(long.close_reason.encode()) <= 123 and set(long.close_reason) == {"ñ"}


def test_preferred_language_reads_accept_language() -> None:
    assert preferred_language("es-MX,es;q=0.9,en;q=0.8") == "es"
    assert preferred_language("fr-CH, fr;q=0.9, es;q=0.8, en;q=0.9") == "en"
    assert preferred_language("de, es;q=0") == "en"
    assert preferred_language("es;q=abc, en;q=0.1") == "en"
    assert preferred_language(None) == "en" and preferred_language("") == "en"
    assert preferred_language("es," + "x," * 100000) == "es"


def test_the_transcript_export_header_is_in_the_readers_language() -> None:
    room = RoomView(id="r", slug="martes", title="Grupo del martes")
    messages = [
        {"author": {"display_name": "Rosa", "role": "member"}, "ts": 0, "seq": 1, "body": "hola"}
    ]
    spanish = as_markdown(room, 0, 86_400_000, messages, "ana", 0, "es")
    assert spanish.startswith("# Transcripción: Grupo del martes\n")
    assert "- Periodo: del 1970-01-01 00:00:00 UTC al 1970-01-02 00:00:00 UTC" in spanish
    assert "- Descargada: 1970-01-01 00:00:00 UTC por ana" in spanish
    assert "Solo se incluyen los mensajes de quienes aceptaron" in spanish
    assert "**Rosa** (participante)" in spanish
    empty = as_markdown(room, 0, 1, [], "ana", 0, "es")
    assert "_No hay mensajes guardados en este periodo._" in empty
    english = as_markdown(room, 0, 1, [], "ana", 0)
    assert english.startswith("# Transcript: Grupo del martes") and "Only the messages" in english
    assert orjson.loads(as_json(room, 0, 1, [], "ana", 0, "es"))["notice"].startswith("Solo se")


# Calls whose text argument (by position) a person reads: every one must have a translation.
_MESSAGE_ARGUMENT = {
    "ApiError": 1,
    "error_frame": 1,
    "Refusal": 1,
    "_Refused": 1,
    "Reject": 0,
    "Hold": 0,
    "Flag": 0,
    "Refused": 1,
    "Refuse": 1,
    "Close": 1,
    "stop": 1,
    "FrameError": 1,
    "SettingsError": 0,
    "_error": 1,
    "notice": 3,
}
# f-strings whose parts are themselves sentences: an example of each that must translate.
_RENDERED = {
    "{} must be a whole number {}": [
        "limit must be a whole number from 1 to 500",
        "after_seq must be a whole number of at least 0",
    ]
}


def _text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def _server_texts() -> set[str]:
    found = set()
    for path in (ROOT / "server").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = getattr(func, "id", None) or getattr(func, "attr", None)
                position = _MESSAGE_ARGUMENT.get(str(name))
                if position is not None and len(node.args) > position:
                    text = _text(node.args[position])
                    if text:
                        found.add(text)
            elif isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
                if len(node.value.elts) == 2:  # (code, message) from a *_problem function
                    text = _text(node.value.elts[1])
                    if text and " " in text:
                        found.add(text)
    return found


def test_every_server_text_a_person_reads_has_a_spanish_translation() -> None:
    templates = {english for english, _ in TEMPLATES}
    missing = []
    for text in sorted(_server_texts()):
        if text in _RENDERED:
            missing += [t for t in _RENDERED[text] if translate(t, "es") == t]
        elif text not in EXACT and text not in templates and translate(text, "es") == text:
            missing.append(text)
    assert missing == [], "add these to server/language/spanish.py"
    assert len(_server_texts()) > 60
