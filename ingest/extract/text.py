"""Plain-text helpers shared by the extractors: Markdown clean-up, paragraphs, sentences.

Everything here is deterministic and cheap (regular expressions only); the extractors
call these on every story, so none of them may be slower than linear in the text.
"""

from __future__ import annotations

import re
import unicodedata

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPH = re.compile(r"(\*\*|__|\*|`)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_URL = re.compile(r"https?://\S+")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]{0,200}>")


def clean_inline(text: str) -> str:
    """Drop Markdown links (keeping their text), emphasis marks, bare URLs and HTML tags."""
    text = _LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    text = _HTML_TAG.sub(" ", text)
    text = _EMPH.sub("", text)
    return text


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text or "")


def blocks(text: str) -> list[tuple[str, str]]:
    """The text as (kind, content) blocks: ``heading``, ``quote`` (a ``>`` block),
    ``item`` (a list item) or ``para``. Inline Markdown is removed from the content."""
    out: list[tuple[str, str]] = []
    buf: list[str] = []
    kind = "para"

    def flush() -> None:
        nonlocal buf, kind
        if buf:
            content = " ".join(" ".join(buf).split())
            if content:
                out.append((kind, clean_inline(content)))
        buf = []
        kind = "para"

    text = re.sub(r"<br\s*/?>|</p>|<p>|</div>|</li>", "\n", nfc(text), flags=re.IGNORECASE)
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip()
        if not line.strip():
            flush()
            continue
        m = _HEADING.match(line)
        if m:
            flush()
            out.append(("heading", clean_inline(m.group(1)).strip()))
            continue
        if line.lstrip().startswith(">"):
            if kind != "quote":
                flush()
                kind = "quote"
            buf.append(line.lstrip()[1:].strip())
            continue
        if _BULLET.match(line):
            flush()
            kind = "item"
            buf.append(_BULLET.sub("", line, count=1))
            continue
        if kind == "quote":
            flush()
        buf.append(line.strip())
    flush()
    return out


def plain(text: str) -> str:
    """The text without Markdown markup: headings and paragraphs on their own lines."""
    return "\n".join(content for _, content in blocks(text))


def prose(text: str, limit: int | None = None, overshoot: int = 0) -> str:
    """Paragraphs, list items and quote blocks (no headings) joined with newlines. With
    ``limit``: blocks are taken until ``limit`` characters are reached, and the result is cut
    at ``limit + overshoot`` (an overshoot keeps the block that crosses the limit)."""
    parts: list[str] = []
    size = 0
    for kind, content in blocks(text):
        if kind == "heading":
            continue
        parts.append(content)
        size += len(content) + 1
        if limit is not None and size >= limit:
            break
    joined = "\n".join(parts)
    return joined[: limit + overshoot] if limit is not None else joined


# Abbreviations that end with a full stop but do not end a sentence.
_ABBREV = {
    "e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "prof", "inc", "ltd", "co", "corp", "jr", "sr",
    "st", "no", "fig", "approx", "dept", "u.s", "u.k", "u.s.a", "e.u", "a.m", "p.m", "ph.d", "mt", "gen",
    "sen", "rep", "gov", "est", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "plc", "bros", "cf", "al",
}
_SENT_END = re.compile(r"([.!?])([\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def sentences(text: str) -> list[str]:
    """Split one block of prose into sentences (a rule-based splitter that knows common
    abbreviations, decimals and initials)."""
    text = " ".join(text.split())
    if not text:
        return []
    out: list[str] = []
    start = 0
    for m in _SENT_END.finditer(text):
        end = m.end(2)
        if m.group(1) == ".":
            word = re.search(r"([\w.]+)\.$", text[start : m.start(1) + 1])
            token = word.group(1).lower() if word else ""
            if token in _ABBREV or (len(token) == 1 and token.isalpha()):
                continue
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def all_sentences(text: str, *, with_kind: bool = False) -> list:
    """Every sentence of the text's paragraphs, list items and quote blocks, in order.
    With ``with_kind``: (kind, heading, sentence) triples, ``heading`` being the nearest
    heading above."""
    out: list = []
    heading = ""
    for kind, content in blocks(text):
        if kind == "heading":
            heading = content
            continue
        for s in sentences(content):
            out.append((kind, heading, s) if with_kind else s)
    return out
