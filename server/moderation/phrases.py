"""Phrase matching in linear time, tolerant of accents, case, spacing, punctuation and
curly quotes: the text is folded to plain words once, then a word trie is walked from each
word. No regular expression ever runs on what a member wrote. Pure.

Used for the Spanish crisis phrases (where "daño" and "dano", "Suicidarme" and "suicidarme",
"me  quiero   matar" and "me quiero matar" must all be the same) and for blocked terms.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from itertools import groupby

__all__ = ["PhraseMatcher", "fold", "unaccent", "words"]

# Common spellings of chat and SMS, folded to the word they stand for (after accents go).
ALIASES = {
    "kiero": "quiero",
    "qiero": "quiero",
    "kero": "quiero",
    "kisiera": "quisiera",
    "suisidarme": "suicidarme",
    "sucidarme": "suicidarme",
    "suisida": "suicida",
    "xq": "porque",
    "pq": "porque",
    "q": "que",
    "k": "que",
}

# Code points below this are remembered once folded (Latin, Greek, Cyrillic, punctuation);
# others are folded each time, so a stream of rare characters cannot grow the table.
_REMEMBER_BELOW = 0x3000


class _FoldTable(dict[int, str]):
    """`str.translate` table: accents dropped, letters and digits kept, all else a space."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if unicodedata.combining(char):
            folded = ""
        elif char.isalnum():
            folded = char
        else:
            folded = " "
        if code < _REMEMBER_BELOW:
            self[code] = folded
        return folded


_TABLE = _FoldTable()


def _squeeze(word: str) -> str:
    """Runs of three or more of one letter made one ("quierooo" → "quiero"); Spanish never
    doubles a letter more than twice ("llorar", "carro")."""
    out = []
    for char, run in groupby(word):
        count = sum(1 for _ in run)
        out.append(char * count if count < 3 else char)
    return "".join(out)


def _unaccent_table() -> dict[int, str]:
    table = {}
    for code in range(0xC0, 0x250):
        base = unicodedata.normalize("NFD", chr(code))[0]
        if base.isascii() and base.isalpha() and chr(code) not in "ñÑ":
            table[code] = base
    return table


_UNACCENT = _unaccent_table()


def unaccent(text: str) -> str:
    """`text` with the accents of Latin letters dropped (á → a, ü → u) but ñ kept, since
    "año" and "ano" are different words. Linear; nothing else changes."""
    return unicodedata.normalize("NFC", text).translate(_UNACCENT)


def fold(text: str) -> str:
    """Lower case (casefold), without accents (NFKD, combining marks dropped), with every run
    of characters that are not letters or digits (spaces, punctuation, straight or curly
    quotes, hyphens) made one space. Linear in the length of `text`."""
    return " ".join(unicodedata.normalize("NFKD", text.casefold()).translate(_TABLE).split())


def _canonical(word: str) -> str:
    word = _squeeze(word) if len(word) > 2 else word
    return ALIASES.get(word, word)


# Words recur (a group's talk has a small vocabulary): each is folded once. Only short ones
# are remembered, so the cache stays small whatever members send (8,192 × 24 characters).
_remembered = lru_cache(maxsize=8192)(_canonical)
_REMEMBER_UP_TO = 24


def words(text: str) -> list[str]:
    """The folded words of `text`, long letter runs squeezed and chat spellings resolved."""
    return [
        _remembered(word) if len(word) <= _REMEMBER_UP_TO else _canonical(word)
        for word in fold(text).split(" ")
        if word
    ]


class _Node:
    """One word of the trie: the words that may follow, and whether a phrase ends here."""

    __slots__ = ("end", "next")

    def __init__(self) -> None:
        self.next: dict[str, _Node] = {}
        self.end = False


class PhraseMatcher:
    """Finds whether any of a list of phrases occurs in a text, as whole words in order.

    Phrases and text are folded the same way (`words`). A trie of words is walked from each
    word of the text: the work is at most (words in the text) × (words in the longest
    phrase), whatever the phrases or the text.
    """

    def __init__(self, phrases: Iterable[str]) -> None:
        self._root = _Node()
        self.count = 0
        for phrase in phrases:
            sequence = words(phrase)
            if not sequence:
                continue
            node = self._root
            for word in sequence:
                node = node.next.setdefault(word, _Node())
            node.end = True
            self.count += 1

    def search(self, text: str) -> bool:
        """Whether any phrase occurs in `text`."""
        if not self.count:
            return False
        sequence = words(text)
        root = self._root.next
        for start, first in enumerate(sequence):
            node = root.get(first)
            i = start + 1
            while node is not None:
                if node.end:
                    return True
                if i == len(sequence):
                    break
                node = node.next.get(sequence[i])
                i += 1
        return False
