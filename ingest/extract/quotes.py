"""Direct quotes and who said them.

A quote is text inside typographic or straight double quotes (“…”, "…", „…“, «…») or a
Markdown blockquote (``> …``) of at least :data:`MIN_WORDS` words. Short quoted phrases
("Inner Loop", scare quotes) are not quotes. Transcript turns ("Name: text") are not
quotes unless the text itself is quoted.

The speaker and role come from the words around the quote, in this order:

* after it: ``"…," said Maria Jensen, Head of Customer Care.`` / ``"…," Maria Jensen said.``
  / ``"…" — Maria Jensen, Head of Customer Care at Nordvik Bank`` / ``"…," said the bank's
  COO, Anders Holm.``
* before it: ``Maria Jensen, Head of Customer Care, said: "…"`` / ``According to Maria
  Jensen, "…"`` / ``As Anders Holm put it: "…"`` / ``Maria Jensen: "…"``
* a pronoun (``she said``) or a bare surname refers to the last named speaker; a quote
  that directly continues an attributed one in the same paragraph keeps its speaker.

Unattributed quotes keep ``speaker=None``.
"""

from __future__ import annotations

import re

from reffy.domain.text import blocks, nfc, required_literal, split_alternatives
from reffy.models import Quote

MIN_WORDS = 6
MAX_CHARS = 1500

_SPEECH = (
    r"said|says|say|explained|explains|noted|notes|added|adds|commented|comments|remarked|recalled|recalls|"
    r"observed|observes|told|shared|shares|stated|states|emphasi[sz]ed|emphasi[sz]es|stressed|continued|continues|"
    r"concluded|concludes|admitted|admits|acknowledged|acknowledges|put it|puts it|summed it up|sums it up|"
    r"reflected|reflects|insisted|insists|argued|argues|joked|jokes|pointed out|points out|wrote|writes|"
    r"described|describes|confirmed|confirms|reported|reports|highlighted|highlights|mentioned|mentions|"
    r"tells us|told us|recounted|recounts|agreed|agrees|believes|added that|said that"
)
_NAME = r"(?:[A-Z][\w'’\-]+\.?(?:\s+(?:[A-Z][\w'’\-]+\.?|de|da|van|von|der|del|la|le|bin|al)){0,3})"
_ROLE = r"(?:[^\"“”.;:()\n]{2,110}?)"
_PRONOUN = r"(?:he|she|they|He|She|They)"
_ROLE_TITLES = (
    r"CEO|CTO|CIO|CFO|COO|CPO|CMO|CISO|CDO|VP|SVP|EVP|President|Founder|Co-founder|Head|Director|Manager|"
    r"Engineer|Scientist|Researcher|Architect|Lead|Chief|Principal|Senior|Partner|Professor|Analyst|Developer|"
    r"Consultant|Specialist|Officer|Owner|Leader|Coordinator|Administrator|Supervisor|Agent|Nurse|Doctor|"
    r"head|director|manager|engineer|scientist|lead|officer|founder|president|analyst|developer|leader|"
    r"supervisor|agent|coordinator|owner|nurse"
)
_ROLE_WORD = re.compile(rf"\b(?:{_ROLE_TITLES})\b")

_AFTER_PATTERNS = [
    # ", said the bank's COO, Anders Holm."  /  ", says CEO Jane Doe."
    re.compile(
        rf"^\s*[,.!?]?\s*(?:{_SPEECH})\s+(?:the\s+)?(?P<role>(?:[\w'’\-]+\s+){{0,5}}?(?:{_ROLE_TITLES}))"
        rf"\s*,?\s+(?P<name>{_NAME})\s*(?:[.;,\n]|$)"
    ),
    # ", said Maria Jensen, Head of Customer Care at Nordvik Bank."
    re.compile(rf"^\s*[,.!?]?\s*(?:{_SPEECH})\s+(?P<name>{_NAME})(?:\s*,\s*(?P<role>{_ROLE}))?\s*(?:[.;\n]|$)"),
    # ", Maria Jensen said." / ", Maria Jensen, Head of Customer Care, explained."
    re.compile(rf"^\s*[,.!?]?\s*(?P<name>{_NAME})(?:\s*,\s*(?P<role>{_ROLE})\s*,)?\s+(?:{_SPEECH})\b"),
    # "— Maria Jensen, Head of Customer Care at Nordvik Bank"
    re.compile(rf"^\s*[—–]\s*(?P<name>{_NAME})(?:\s*,\s*(?P<role>{_ROLE}))?\s*(?:[.;\n]|$)"),
    re.compile(rf"^\s*[,.]?\s*-{{1,2}}\s*(?P<name>{_NAME})(?:\s*,\s*(?P<role>{_ROLE}))?\s*(?:[.;\n]|$)"),
    # ", she said."
    re.compile(rf"^\s*[,.!?]?\s*(?P<pronoun>{_PRONOUN})\s+(?:{_SPEECH})\b"),
    re.compile(rf"^\s*[,.!?]?\s*(?:{_SPEECH})\s+(?P<pronoun>he|she|they)\b"),
]
_BEFORE_PATTERNS = [
    # "Maria Jensen, Head of Customer Care, said: "  /  "Maria Jensen said, "
    re.compile(rf"(?P<name>{_NAME})(?:\s*,\s*(?P<role>{_ROLE})\s*,)?\s+(?:{_SPEECH})(?:\s+that)?\s*[:,]?\s*$"),
    # "According to Maria Jensen, Head of Customer Care, "  /  "As Anders Holm put it: "
    re.compile(
        rf"(?:[Aa]ccording to|[Aa]s)\s+(?P<name>{_NAME})(?:\s*,\s*(?P<role>{_ROLE})\s*,?)?"
        rf"(?:\s+(?:{_SPEECH}))?\s*[:,]\s*$"
    ),
    # "the bank's COO, Anders Holm, said: "
    re.compile(
        rf"(?P<role>(?:[\w'’\-]+\s+){{0,5}}?(?:{_ROLE_TITLES}))\s*,?\s+(?P<name>{_NAME})\s*,?\s+"
        rf"(?:{_SPEECH})\s*[:,]?\s*$"
    ),
    # "Anders Holm, COO at Nordvik Bank, put the business case more bluntly: "
    re.compile(
        rf"(?P<name>{_NAME})(?:\s*,\s*(?P<role>{_ROLE})\s*,)?\s+(?:[a-z][\w'’\-]*\s+){{1,8}}?"
        rf"[a-z][\w'’\-]*\s*:\s*$"
    ),
    # "Maria Jensen (Head of Customer Care): "  /  "Maria Jensen: "
    re.compile(rf"(?:^|\n|[.!?]\s+)(?P<name>{_NAME})\s*(?:\((?P<role>[^)]{{2,80}})\))?\s*:\s*$"),
    # "she said: "
    re.compile(rf"(?P<pronoun>{_PRONOUN})\s+(?:{_SPEECH})\s*[:,]?\s*$"),
]

_QUOTE_SPANS = re.compile(
    rf"“([^“”]{{8,{MAX_CHARS}}})”|\"([^\"\n]{{8,{MAX_CHARS}}})\"|„([^“”„]{{8,{MAX_CHARS}}})[“”]|«\s?([^«»]{{8,{MAX_CHARS}}}?)\s?»"
)
_NOT_NAMES = {
    "The",
    "This",
    "That",
    "These",
    "It",
    "We",
    "Our",
    "They",
    "He",
    "She",
    "In",
    "At",
    "As",
    "And",
    "But",
    "So",
    "For",
    "With",
    "When",
    "After",
    "Before",
    "Today",
    "Now",
    "According",
    "Overall",
}


def _words(text: str) -> int:
    return len(re.findall(r"[\w'’-]+", text))


def _clean_quote(text: str) -> str:
    text = " ".join(text.split())
    return text.strip(" ,;").strip()


def _clean_name(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip(" ,.")
    tokens = name.split()
    while tokens and (tokens[0] in _NOT_NAMES or _ROLE_WORD.fullmatch(tokens[0])):
        tokens.pop(0)
    if not tokens:
        return None
    return " ".join(tokens)


def _clean_role(role: str | None) -> str | None:
    if not role:
        return None
    role = " ".join(role.split()).strip(" ,.;:-—–")
    if not role or _words(role) > 16:
        return None
    if not (_ROLE_WORD.search(role) or re.search(r"\b(?:at|of)\s+[A-Z]", role)):
        return None  # "said Maria, who joined in 2021" is not a role
    return role


class _Speakers:
    """People already named in the story, to resolve pronouns and surnames."""

    def __init__(self) -> None:
        self.last: tuple[str, str | None] | None = None
        self.known: dict[str, tuple[str, str | None]] = {}

    def add(self, name: str, role: str | None) -> tuple[str, str | None]:
        tokens = name.split()
        if len(tokens) == 1 and name in self.known:
            full, known_role = self.known[name]
            name, role = full, role or known_role
        elif len(tokens) >= 2:
            prev = self.known.get(name)
            role = role or (prev[1] if prev else None)
            self.known[name] = (name, role)
            self.known[tokens[0]] = (name, role)
            self.known[tokens[-1]] = (name, role)
        self.last = (name, role)
        return name, role


def _speech_literals() -> tuple[str, ...] | None:
    """Text every _SPEECH verb starts with (None if one has none, or has capitals: the
    patterns are case-sensitive and these are compared as written)."""
    words = split_alternatives(_SPEECH)
    literals = [required_literal(w) for w in words or ()]
    if not words or not all(literals) or any(w != w.lower() for w in words):
        return None
    return tuple(dict.fromkeys(literals))


_SPEECH_LITERALS = _speech_literals()


def _before_may_match(before: str) -> tuple[bool, ...]:
    """For each of _BEFORE_PATTERNS, False when it cannot match ``before``: the first, third
    and last need a speech verb; the second ends in "," or ":", the fourth and fifth in ":"
    (before trailing whitespace). Searching only the others changes no result, and most
    quotes are then attributed or given up after a few substring tests instead of six
    searches."""
    speech = _SPEECH_LITERALS is None or any(literal in before for literal in _SPEECH_LITERALS)
    last = before.rstrip()[-1:]
    return speech, last in (",", ":"), speech, last == ":", last == ":", speech


def _attribute(before: str, after: str, speakers: _Speakers) -> tuple[str | None, str | None]:
    for pattern in _AFTER_PATTERNS:
        m = pattern.match(after)
        if m:
            return _resolve(m, speakers)
    for pattern, possible in zip(_BEFORE_PATTERNS, _before_may_match(before), strict=True):
        m = pattern.search(before) if possible else None
        if m:
            return _resolve(m, speakers)
    return None, None


def _resolve(m: re.Match[str], speakers: _Speakers) -> tuple[str | None, str | None]:
    groups = m.groupdict()
    if groups.get("pronoun"):
        return speakers.last if speakers.last else (None, None)
    name = _clean_name(groups.get("name"))
    if not name:
        return None, None
    role = _clean_role(groups.get("role"))
    return speakers.add(name, role)


def find_quotes(text: str, *, min_words: int = MIN_WORDS) -> list[Quote]:
    """Direct quotes of at least ``min_words`` words, with speaker and role when attributed."""
    quotes: list[Quote] = []
    seen: set[str] = set()
    speakers = _Speakers()
    all_blocks = blocks(nfc(text))
    for index, (kind, content) in enumerate(all_blocks):
        if kind == "heading":
            continue
        if kind == "quote":
            body, speaker, role = _blockquote(
                content, all_blocks[index + 1][1] if index + 1 < len(all_blocks) else "", speakers
            )
            if body and _words(body) >= min_words and body not in seen:
                seen.add(body)
                quotes.append(Quote(body, speaker, role))
            continue
        previous: Quote | None = None
        previous_end = -1
        for m in _QUOTE_SPANS.finditer(content):
            raw = next(g for g in m.groups() if g is not None)
            body = _clean_quote(raw)
            if re.search(r"(?:^|\n|---)\s*[a-z_]+:\s*$", content[max(0, m.start() - 40) : m.start()]):
                continue  # a "key: value" line (front matter, configuration), not speech
            before = content[max(0, m.start() - 200) : m.start()]
            after = content[m.end() : m.end() + 200]
            speaker, role = _attribute(before, after, speakers)
            if speaker is None and previous is not None and previous.speaker:
                between = content[previous_end : m.start()]
                # "…," said X, Role. "…" — the attribution between two quotes covers both
                if re.fullmatch(r"[\s,.;:!?]*", between) or (
                    _words(between) <= 25
                    and re.search(rf"\b(?:{_SPEECH})\b", between)
                    and not re.search(r"[.!?]\s+[A-Z][^.]*[.!?]\s", between)
                ):
                    speaker, role = previous.speaker, previous.role
            quote = Quote(body, speaker, role)
            previous, previous_end = quote, m.end()
            if _words(body) < min_words or body in seen:
                continue
            seen.add(body)
            quotes.append(quote)
    return quotes


def _blockquote(content: str, following: str, speakers: _Speakers) -> tuple[str, str | None, str | None]:
    """A ``>`` block: the quoted text, with an attribution line in it ("— Name, Role") or
    right after it."""
    content = content.strip()
    m = re.search(rf"\s*(?:[—–]|--?)\s*(?P<name>{_NAME})(?:\s*,\s*(?P<role>[^\n]{{2,110}}))?\s*$", content)
    speaker = role = None
    if m and m.start() > 0:
        body = content[: m.start()]
        speaker, role = _resolve(m, speakers)
    else:
        body = content
        m = re.match(rf"^\s*(?:[—–]|--?)\s*(?P<name>{_NAME})(?:\s*,\s*(?P<role>[^\n]{{2,110}}))?\s*$", following or "")
        if m:
            speaker, role = _resolve(m, speakers)
    body = _clean_quote(body.strip().strip('“”"').strip())
    return body, speaker, role
