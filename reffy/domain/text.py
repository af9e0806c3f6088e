"""Plain-text helpers shared by the extractors: Markdown clean-up, paragraphs, sentences.

Everything here is deterministic and cheap (regular expressions only); the extractors
call these on every story, so none of them may be slower than linear in the text.
Several extractors read the same story, so :func:`blocks` and :func:`all_sentences`
remember their last few texts (their results are handed out as fresh lists).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPH = re.compile(r"(\*\*|__|\*|`)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_URL = re.compile(r"https?://\S+")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]{0,200}>")


def clean_inline(text: str) -> str:
    """Drop Markdown links (keeping their text), emphasis marks, bare URLs and HTML tags.
    (Each substitution runs only when the character it needs is there: most text has none.)"""
    if "[" in text:
        text = _LINK.sub(r"\1", text)
    if "http" in text:
        text = _URL.sub(" ", text)
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    if "*" in text or "`" in text or "__" in text:
        text = _EMPH.sub("", text)
    return text


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text or "")


def blocks(text: str) -> list[tuple[str, str]]:
    """The text as (kind, content) blocks: ``heading``, ``quote`` (a ``>`` block),
    ``item`` (a list item) or ``para``. Inline Markdown is removed from the content."""
    return list(_blocks(nfc(text)))


@lru_cache(maxsize=8)
def _blocks(text: str) -> tuple[tuple[str, str], ...]:
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

    if "<" in text:
        text = re.sub(r"<br\s*/?>|</p>|<p>|</div>|</li>", "\n", text, flags=re.IGNORECASE)
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
    return tuple(out)


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
    "e.g",
    "i.e",
    "etc",
    "vs",
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "inc",
    "ltd",
    "co",
    "corp",
    "jr",
    "sr",
    "st",
    "no",
    "fig",
    "approx",
    "dept",
    "u.s",
    "u.k",
    "u.s.a",
    "e.u",
    "a.m",
    "p.m",
    "ph.d",
    "mt",
    "gen",
    "sen",
    "rep",
    "gov",
    "est",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "plc",
    "bros",
    "cf",
    "al",
}
_LAST_WORD = re.compile(r"([\w.]+)\.$")  # the word a full stop ends (searched between two offsets)
_SENT_END = re.compile(r"([.!?])([\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def _word_before_stop(text: str, start: int, end: int) -> re.Match[str] | None:
    """``_LAST_WORD.search(text, start, end)``: the word ending at the full stop before
    ``end``, looked for in the last few characters first (the word is the run of word
    characters and dots before the stop, so a match that does not touch the window's left
    edge is the whole of it)."""
    window = max(start, end - 16)
    m = _LAST_WORD.search(text, window, end)
    if m is not None and m.start() == window and window > start:
        m = _LAST_WORD.search(text, start, end)  # the word may begin further left
    return m


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
            word = _word_before_stop(text, start, m.start(1) + 1)
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
    triples = _all_sentences(nfc(text))
    return list(triples) if with_kind else [s for _, _, s in triples]


@lru_cache(maxsize=8)
def _all_sentences(text: str) -> tuple[tuple[str, str, str], ...]:
    out: list[tuple[str, str, str]] = []
    heading = ""
    for kind, content in _blocks(text):
        if kind == "heading":
            heading = content
            continue
        for s in sentences(content):
            out.append((kind, heading, s))
    return tuple(out)


# -- quick pre-tests for costly case-insensitive cue patterns ----------------------------------
# Letters outside ASCII that a case-insensitive pattern matches to ASCII letters (İ ı ſ K).
# Where none occurs, an ASCII word matches case-insensitively exactly where its lower-case
# form occurs in ``text.lower()``.
ASCII_FOLDS = re.compile("[\u0130\u0131\u017f\u212a]")
_CLASS_ESCAPES = set("wWsSdDbBAZ0123456789")


def required_literal(alternative: str) -> str:
    """The literal text every match of one regex alternative starts with, lower-cased (``""``
    when there is none: a group, a class or a character class comes first). Only ASCII and
    caseless symbols (€, £) count; an optional last character (``s?``) is left out."""
    out: list[str] = []
    i = 0
    while i < len(alternative):
        c = alternative[i]
        if c == "\\":
            nxt = alternative[i + 1] if i + 1 < len(alternative) else ""
            if not nxt or nxt in _CLASS_ESCAPES or nxt.isalpha():
                break
            c, width = nxt, 2
        elif c in ".^$*+?{}[]|()":
            break
        else:
            width = 1
        if not (c.isascii() or unicodedata.category(c)[0] in "SP"):
            break
        after = alternative[i + width : i + width + 1]
        if after in ("?", "*", "{"):
            break  # this character may be absent
        out.append(c)
        i += width
    return "".join(out).lower()


def split_alternatives(pattern: str) -> list[str] | None:
    """The top-level ``|`` alternatives of a regex fragment; None when it has no such
    simple shape (an unbalanced or escaped structure this helper does not follow)."""
    parts, depth, start, i = [], 0, 0, 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return None
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    if depth or in_class:
        return None
    parts.append(pattern[start:])
    return parts


class CueGate:
    """A necessary condition for a case-insensitive alternation of cue words: one of their
    required literals occurs in the lower-cased sentence. ``admits`` is False only when the
    pattern cannot match, so ``gate.admits(...) and pattern.search(s)`` equals
    ``pattern.search(s)`` as a truth value, and costs a few substring tests for most
    sentences. :func:`cue_gate` returns None when a word has no literal to test."""

    __slots__ = ("literals",)
    ANY: CueGate  # admits everything (for a pattern with no literal to test)

    def __init__(self, literals: tuple[str, ...] | None) -> None:
        self.literals = literals

    def admits(self, lowered: str | None) -> bool:
        """``lowered``: the sentence's ``lower()``, or None when it has ASCII_FOLDS letters."""
        if lowered is None or self.literals is None:
            return True
        return any(literal in lowered for literal in self.literals)

    def narrowed(self, lowered_text: str) -> CueGate:
        """The gate for sentences whose lowered forms all occur in ``lowered_text``: only the
        literals that occur there can occur in them (one pass per document, so each sentence
        is tested against a handful of literals instead of dozens)."""
        if self.literals is None:
            return self
        return CueGate(tuple(literal for literal in self.literals if literal in lowered_text))


CueGate.ANY = CueGate(None)


class _DigitGate(CueGate):
    """For patterns that need a digit (no character lower-cases into or out of one)."""

    _DIGIT = re.compile(r"\d")

    def __init__(self) -> None:
        super().__init__(())

    def admits(self, lowered: str | None) -> bool:
        return lowered is None or self._DIGIT.search(lowered) is not None

    def narrowed(self, lowered_text: str) -> CueGate:
        return self


DIGIT_GATE = _DigitGate()


def cue_gate(words: tuple[str, ...] | list[str]) -> CueGate | None:
    literals: list[str] = []
    for word in words:
        alternatives = split_alternatives(word)
        if alternatives is None:
            return None
        for alternative in alternatives:
            literal = required_literal(alternative)
            if not literal:
                return None
            literals.append(literal)
    return CueGate(tuple(dict.fromkeys(literals)))


def lowered_for_gates(sentence: str) -> str | None:
    """What :meth:`CueGate.admits` reads for a sentence."""
    return None if ASCII_FOLDS.search(sentence) else sentence.lower()
