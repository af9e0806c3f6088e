"""Reading a page's layout: one block per line, headings where the markup lost them.

Text from HTML pages (trafilatura), slides, PDFs and plain notes keeps one paragraph, list
item or heading per line, often with no Markdown to tell them apart, so a heading glues onto
the sentence after it ("The challenge By 2022 ...") and slide bullets onto each other.
:func:`restructure` puts each line in its own block unless it is the rest of a wrapped
sentence (the line before ends on a word such as "with" or a comma, or this one starts in
lower case), and marks a lone short line without end punctuation (not one of a run of such
lines, which is a list) as a heading. :func:`solution_start` finds where a story first names
its solution. Pure functions, linear in the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Words a whole statement does not end on ("... onboarding with", "... outcomes for").
_FRAGMENT_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "nor",
        "of",
        "to",
        "for",
        "with",
        "by",
        "from",
        "that",
        "which",
        "whose",
        "than",
        "into",
        "via",
        "per",
        "its",
        "their",
        "our",
        "his",
        "her",
        "this",
        "these",
        "those",
        "such",
        "including",
        "between",
    ]
)
_LAST_WORD = re.compile(r"([^\W_]+)[\W_]*$")


def ends_on_fragment_word(text: str) -> bool:
    """Whether the text ends on a word a whole statement does not end on ("... onboarding with")."""
    tail = text[-40:].rstrip()
    m = _LAST_WORD.search(tail)
    return m is not None and m.group(1).lower() in _FRAGMENT_WORDS


_ROLLOUT = re.compile(
    r"\b(?:deploy\w*|implement\w*|built|build(?:s|ing)?|launch\w*|rolled out|roll(?:s|ing)? out|"
    r"went live|go-live|adopt\w*|introduc\w*|partner\w*|chose|selected|uses|using|developed|"
    r"created|replaced|switched)\b",
    re.IGNORECASE,
)
_MARKUP_LINE = re.compile(r"^\s*(?:#{1,6}\s|>|\||[-*+•]\s|\d{1,3}[.)]\s)")
_FENCE = re.compile(r"^\s*(?:```|~~~)")
_END_PUNCT = ".!?…;,\"”’')]"


def _bare(line: str) -> str:
    return line.strip().strip("*_ ").strip()


def _short_open(line: str) -> bool:
    """A short line without end punctuation (a colon counts as none for a short label)."""
    bare = _bare(line)
    if not bare or len(bare) > 100 or len(bare.split()) > 12:
        return False
    if bare.endswith(":"):
        return len(bare.split()) <= 10
    return bare[-1] not in _END_PUNCT


def restructure(text: str) -> str:
    """The text with one block per line (Markdown blank lines between lines that are not one
    wrapped sentence) and lone short unpunctuated lines marked as headings (``## ``), code
    blocks left out: what :func:`reffy.domain.text.all_sentences` needs to read a page's,
    slide's or note's layout."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    fenced = False
    for line in lines:
        if _FENCE.match(line):
            fenced = not fenced
            kept.append("")
            continue
        kept.append("" if fenced else line.rstrip())
    out: list[str] = []
    n = len(kept)
    for i, line in enumerate(kept):
        if not line.strip():
            out.append("")
            continue
        prev = kept[i - 1] if i else ""
        nxt = kept[i + 1] if i + 1 < n else ""
        plain = not _MARKUP_LINE.match(line)
        if plain and prev.strip():
            wrapped = ends_on_fragment_word(prev) or prev.rstrip().endswith((",", "-")) or line.lstrip()[:1].islower()
            if not wrapped:
                out.append("")  # a new block: this line is not the rest of the previous one
        if (
            plain
            and _short_open(line)
            and not (prev.strip() and not _MARKUP_LINE.match(prev) and _short_open(prev))
            and not (nxt.strip() and not _MARKUP_LINE.match(nxt) and _short_open(nxt))
            and any(k.strip() for k in kept[i + 1 :])
        ):
            out.append("## " + _bare(line).rstrip(":"))
            out.append("")
            continue
        out.append(line)
    return "\n".join(out)


def solution_start(triples: list[tuple[str, str, str]], names: Sequence[str]) -> int:
    """Index of the first sentence that names the solution (one of ``names``), else of the
    first with a rollout verb; 0 when neither occurs."""
    lowered = [n.lower() for n in names if n and n.strip()]
    if lowered:
        for i, (_, _, sentence) in enumerate(triples):
            low = sentence.lower()
            if "|" not in sentence and any(n in low for n in lowered):  # a fact row names products, not what was done
                return i
    for i, (_, _, sentence) in enumerate(triples):
        if _ROLLOUT.search(sentence):
            return i
    return 0
