"""Markdown that shows user text literally: no emphasis, links, autolinks, HTML, headings,
lists, tables, code or math can come from what a member wrote (CommonMark and GitHub
Flavored Markdown). Pure.

Every ASCII punctuation character that any of those constructs needs is backslash-escaped
(CommonMark lets any ASCII punctuation be escaped, and shows it as itself); leading spaces
and tabs become character references so they cannot open an indented code block.
"""

from __future__ import annotations

__all__ = ["escape_line", "quote_block"]

# ASCII punctuation that no Markdown construct needs, left as written for readability.
_HARMLESS = set(",;?'\"%/")
_ESCAPE = {chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum()} - _HARMLESS


def _escape(text: str) -> str:
    return "".join("\\" + ch if ch in _ESCAPE else ch for ch in text)


def _lead(text: str) -> str:
    body = text.lstrip(" \t")
    lead = text[: len(text) - len(body)]
    return lead.replace(" ", "&#32;").replace("\t", "&#9;") + body


def escape_line(text: str) -> str:
    """One line of literal text (line breaks and tabs become spaces)."""
    flat = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return _lead(_escape(flat))


def quote_block(text: str) -> str:
    """Literal text as a block quote, its line breaks kept (CommonMark hard breaks)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = []
    for i, line in enumerate(lines):
        if not line:
            out.append(">")
            continue
        follows = i + 1 < len(lines) and lines[i + 1] != ""
        out.append("> " + _lead(_escape(line)) + ("\\" if follows else ""))
    return "\n".join(out)
