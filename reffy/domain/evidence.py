"""The evidence check: is a quote an LLM gave as evidence really in the story?

LLMs paraphrase, fix typos, change typography and occasionally invent quotes. Points are
only worth something when their evidence can be shown to a reader, so a quote must be
found in the story after normalisation (Unicode, case, quotes, dashes, whitespace,
Markdown emphasis), exactly or with small differences (fuzzy match). Figures are the
exception: a quote whose numbers differ from the story is not evidence, however close the
rest of the wording is. Pure functions; the story's normal form is cached because one
story is checked against many quotes.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapidfuzz import fuzz

DEFAULT_THRESHOLD = 90
MIN_FUZZY_WORDS = 3  # shorter quotes must match exactly (fuzzy matching of 2 words finds anything)

_TRANSLATE = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4`", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        "\u2026": "...",
        **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", ""),
    }
)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # [text](url) -> text
_EMPHASIS = re.compile(r"(\*{1,3}|~~|(?<!\w)_{1,3}|_{1,3}(?!\w))")
_HEADING_OR_QUOTE = re.compile(r"(?m)^\s*(?:#{1,6}|>+)\s*")
_SPACE = re.compile(r"\s+")
_ELLIPSIS = re.compile(r"\s*(?:\.\s*){3,}\s*|\s*\[\s*(?:\.\s*){3}\]\s*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_EDGE = " \t\n'\".,;:!?-"


def normalise(text: str) -> str:
    """Comparable form: NFKC, lower case, plain quotes/dashes, no Markdown emphasis, single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    text = _LINK.sub(r"\1", text)
    text = _HEADING_OR_QUOTE.sub(" ", text)
    text = _EMPHASIS.sub("", text)
    return _SPACE.sub(" ", text.casefold()).strip()


@lru_cache(maxsize=16)
def _normalised_text(text: str) -> str:
    return normalise(text)


def quote_parts(quote: str) -> list[str]:
    """The normalised pieces of a quote, split at ellipses ("...", "…", "[...]")."""
    parts = (p.strip(_EDGE) for p in _ELLIPSIS.split(normalise(quote)))
    return [p for p in parts if p]


def _exact(part: str, text: str, start: int) -> tuple[int, int] | None:
    """Whole-word exact occurrence of ``part`` at or after ``start``."""
    pattern = r"(?<!\w)" + re.escape(part) + r"(?!\w)"
    m = re.compile(pattern).search(text, start)
    return (m.start(), m.end()) if m else None


def _fuzzy(part: str, text: str, start: int, threshold: float) -> tuple[int, int] | None:
    hay = text[start:]
    if len(part) > len(hay):  # partial_ratio would look for the story inside the quote
        return None
    found = fuzz.partial_ratio_alignment(part, hay, score_cutoff=threshold)
    if found is None:
        return None
    lo, hi = start + found.dest_start, start + found.dest_end
    # the aligned window may clip a figure at its edges: widen to whole words before comparing
    while lo > 0 and text[lo - 1].isalnum():
        lo -= 1
    while hi < len(text) and text[hi].isalnum():
        hi += 1
    if _NUMBER.findall(part) != _NUMBER.findall(text[lo:hi]):
        return None
    return lo, hi


def _find(part: str, text: str, start: int, threshold: float) -> tuple[int, int] | None:
    exact = _exact(part, text, start)
    if exact or len(part.split()) < MIN_FUZZY_WORDS:
        return exact
    return _fuzzy(part, text, start, threshold)


def evidence_found(quote: str, text: str, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """True when ``quote`` occurs in ``text``: exactly, or nearly (``partial_ratio >= threshold``).

    With ellipses every part must be found, in order. Parts under three words must match
    exactly (as whole words); figures must match exactly in any case. An empty quote is
    never evidence.
    """
    parts = quote_parts(quote)
    if not parts:
        return False
    story = _normalised_text(text)
    position = 0
    for part in parts:
        span = _find(part, story, position, threshold)
        if span is None:
            return False
        position = span[1]
    return True
