"""Server text in the reader's language: a lookup by the English text (gettext's way), so the
code keeps writing English and the socket or response that carries it to a person translates
it last. Unknown text stays English; nothing a person wrote is ever changed (only whole
texts that are the server's own match).
"""

from __future__ import annotations

from typing import Any

import orjson

from .choice import DEFAULT_LANGUAGE
from .spanish import EXACT as SPANISH
from .spanish import TEMPLATES as SPANISH_TEMPLATES

__all__ = ["FrameLocalizer", "localizer", "translate"]

# Longer texts are never the server's own: they pass untouched, and unread.
_MAX_TEXT = 1000

_Template = tuple[list[str], str]


def _compile(templates: list[tuple[str, str]]) -> list[_Template]:
    compiled = [(english.split("{}"), spanish) for english, spanish in templates]
    # The most specific first: the one with the most literal text.
    return sorted(compiled, key=lambda t: -sum(len(part) for part in t[0]))


_CATALOGUES: dict[str, tuple[dict[str, str], list[_Template]]] = {
    "es": (SPANISH, _compile(SPANISH_TEMPLATES)),
}


def _holes(parts: list[str], text: str) -> list[str] | None:
    """The values that fill a template's holes to give `text`, or None. Linear: one pass
    of `str.find` per literal part."""
    first, *middle, last = parts
    end = len(text) - len(last)
    if end < len(first) or not text.startswith(first) or not text.endswith(last):
        return None
    pos, values = len(first), []
    for literal in middle:
        found = text.find(literal, pos, end)
        if found < 0:
            return None
        values.append(text[pos:found])
        pos = found + len(literal)
    values.append(text[pos:end])
    return values if all(values) else None


def translate(text: str, language: str) -> str:
    """`text` (the server's English) in `language`; unchanged when there is no translation."""
    catalogue = _CATALOGUES.get(language)
    if catalogue is None or len(text) > _MAX_TEXT:
        return text
    exact, templates = catalogue
    found = exact.get(text)
    if found is not None:
        return found
    for parts, target in templates:
        values = _holes(parts, text)
        if values is not None:
            # A hole may itself be one of the server's texts (a reason inside a reason).
            return target.format(*(exact.get(v, v) for v in values))
    return text


# Frames whose texts are the server's: their `message`, `reason` and `text` are translated.
_PREFIXES = ('{"type":"error"', '{"type":"notice"', '{"type":"flag"', '{"type":"held"')
_FIELDS = ("message", "reason", "text")


class FrameLocalizer:
    """Translates the server's words in the frames and close reasons sent to one socket."""

    __slots__ = ("language",)

    def __init__(self, language: str) -> None:
        self.language = language

    def frame(self, text: str) -> str:
        """An encoded frame with its server texts translated (others returned as they are)."""
        if not text.startswith(_PREFIXES):
            return text
        frame: dict[str, Any] = orjson.loads(text)
        changed = False
        for name in _FIELDS:
            value = frame.get(name)
            if isinstance(value, str):
                translated = translate(value, self.language)
                if translated is not value:
                    frame[name], changed = translated, True
        return orjson.dumps(frame).decode() if changed else text

    def text(self, text: str) -> str:
        """A plain server text (a close reason) translated."""
        return translate(text, self.language)


def localizer(language: str) -> FrameLocalizer | None:
    """The localizer for a reader of `language`; None for English (nothing to do)."""
    if language == DEFAULT_LANGUAGE or language not in _CATALOGUES:
        return None
    return FrameLocalizer(language)
