"""Built-in moderation hooks: crisis language, blocked terms, personal contact details. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .phrases import PhraseMatcher, unaccent
from .verdicts import Allow, Flag, Hold, MessageContext, Reject, Verdict

__all__ = [
    "CrisisLanguage",
    "blocked_terms",
    "contact_details",
    "crisis_resources_for",
    "find_contact_details",
    "load_phrases",
    "normalize",
]

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2013": "-",
        "\u2014": "-",
    }
)
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Case-folded text with curly quotes made straight and white space runs made one space."""
    return _SPACES.sub(" ", text.translate(_QUOTES)).casefold()


def load_phrases(path: Path | None, packaged: str = "crisis_phrases.txt") -> list[str]:
    """Phrases, one a line ('#' comments), from `path` or the packaged list `packaged`
    (`crisis_phrases.txt`, English; `crisis_phrases_es.txt`, Spanish)."""
    if path is not None:
        text = path.read_text(encoding="utf-8")
    else:
        text = resources.files("server.moderation").joinpath(packaged).read_text("utf-8")
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    parts = []
    for phrase in phrases:
        words = [re.escape(w) for w in re.split(r"[\s-]+", normalize(phrase)) if w]
        if words:
            parts.append(r"[\s-]*".join(words) if len(words) > 1 else words[0])
    body = "|".join(sorted(parts, key=len, reverse=True)) or r"(?!x)x"
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)")


class CrisisLanguage:
    """Flags crisis language, English or Spanish (PROTOCOL §7: both, in every room), and sends
    the author the room's crisis resources in the author's language, privately.

    Never silences: the verdict protects the message from later rejections.
    """

    name = "crisis"

    def __init__(self, phrases: list[str], spanish: list[str] | None = None) -> None:
        self._pattern = _phrase_pattern(phrases)
        self._spanish = PhraseMatcher(
            spanish if spanish is not None else load_phrases(None, "crisis_phrases_es.txt")
        )

    def matches(self, body: str) -> bool:
        """Whether `body` holds crisis language, in English or in Spanish."""
        return self._pattern.search(normalize(body)) is not None or self._spanish.search(body)

    async def __call__(self, ctx: MessageContext) -> Verdict:
        if not self.matches(ctx.body):
            return Allow()
        resources_text = crisis_resources_for(ctx.settings, ctx.language)
        return Flag("crisis language", notice_author=resources_text or None, protect=True)


def crisis_resources_for(settings: dict[str, object], language: str) -> str:
    """The room's crisis resources for a reader of `language` (`crisis_resources_es` for
    Spanish; `crisis_resources` for others, and when a room has no Spanish text)."""
    if language == "es" and settings.get("crisis_resources_es"):
        return str(settings["crisis_resources_es"])
    return str(settings.get("crisis_resources") or "")


@lru_cache(maxsize=256)
def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    return _phrase_pattern(unaccent(term) for term in terms)


async def blocked_terms(ctx: MessageContext) -> Verdict:
    """Rejects messages holding one of the room's `blocked_terms`, with or without accents
    on either side ("cabrón" blocks "cabron"); ñ stays itself ("año" is not "ano")."""
    terms = ctx.settings.get("blocked_terms") or []
    if terms and _terms_pattern(tuple(terms)).search(unaccent(normalize(ctx.body))):
        return Reject("this message uses a term this group has agreed not to use")
    return Allow()


# Every pattern here runs in time linear in the body (a test holds them to it): the e-mail
# pattern starts at an "@" (one character of the local part suffices to know there is one),
# where `[\w.+-]+@…` would rescan the rest of the body from every position (quadratic).
_EMAIL = re.compile(r"(?<=[\w.+-])@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w])\+?\(?\d[\d\s().-]{5,}\d(?![\w])")
# Dates (2024-01-15) and year ranges (2019-2024) have a phone number's digits and separators;
# people in recovery name them all the time, so they are taken out before looking for phones.
# Spanish (and most of the world) writes the day first: 15-01-2024, 15.01.2024.
_DATE = re.compile(
    r"(?<![\w])(?:(?:19|20)\d\d(?:-\d\d?-\d\d?|\s*-\s*(?:19|20)\d\d)"
    r"|\d\d?[-.]\d\d?[-.](?:19|20)\d\d)(?![\w])"
)


def find_contact_details(body: str) -> bool:
    """Whether `body` holds an e-mail address or something shaped like a phone number."""
    if _EMAIL.search(body):
        return True
    for match in _PHONE.finditer(_DATE.sub(" ", body)):
        digits = sum(ch.isdigit() for ch in match.group())
        if 7 <= digits <= 15:
            return True
    return False


async def contact_details(ctx: MessageContext) -> Verdict:
    """Per the room's `contact_details`: `allow`, `warn` (flag and tell the author) or `hold`."""
    policy = ctx.settings.get("contact_details", "allow")
    if policy == "allow" or not find_contact_details(ctx.body):
        return Allow()
    if policy == "hold":
        return Hold("personal contact details")
    return Flag(
        "personal contact details",
        notice_author=(
            "Sharing phone numbers or e-mail addresses is usually against this group's agreement; "
            "your facilitator has been told."
        ),
    )
