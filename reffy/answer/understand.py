"""Understanding a request: the filters a question names, and how a follow-up narrows the last one.

"A European bank that beat Zentrix" names a region, an industry and a competitor; turning
them into search filters makes retrieval exact where text similarity is vague. Matching is
deliberately conservative (whole words, unambiguous vocabulary only): a wrongly understood
filter hides good stories, so everything understood is reported back to the user.

A follow-up ("only the ones in Europe", "what about insurers?") keeps the previous
request's topic and filters and narrows or changes them, so a conversation can refine a
result step by step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from reffy.retrieval.facets import industries_named, ngrams, regions
from reffy.rubric import Taxonomy, VendorProfile

_FOLLOW_UP = re.compile(
    r"^\s*(?:only|just|and|but|now|what about|how about|same|narrow|filter|limit|exclude|which of|of (?:these|those)"
    r"|from (?:these|those)|any (?:of )?(?:these|those)|those|these|them|ok,? (?:only|just|now))\b"
    r"|\b(?:the ones|of those|of these|of them|those ones|these ones|from that list|the same)\b",
    re.IGNORECASE,
)
_NARROWING_WORDS = re.compile(r"\b(?:only|just|those|these|them|the ones|ones|which|of|with|that|please)\b\??", re.I)
_WORD = re.compile(r"[\w'’&-]+")
_YEAR = r"((?:19|20)\d{2})"


@dataclass(slots=True)
class Request:
    """What retrieval should run for one user message."""

    query: str
    filters: dict[str, Any] = field(default_factory=dict)
    understood: dict[str, Any] = field(default_factory=dict)  # filters read from this message
    follow_up: bool = False


def _countries(text: str) -> list[str]:
    from reffy.domain.country import find_countries

    codes = [code for code, _ in find_countries(text)]
    grams = set(ngrams(text))
    for alias, members in regions().items():
        if alias in grams and not (alias == "eu" and not re.search(r"\bEU\b", text)):
            codes.extend(members)
    return list(dict.fromkeys(codes))


def _contains(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text, re.IGNORECASE) is not None


def _named(text: str, things: list[Any], *, single_words: bool) -> list[str]:
    """Vendor products/competitors named in the text (by name or alias). Single-word aliases
    ("Flow", "Assist") are common words, so they count only when ``single_words``."""
    out = []
    for thing in things:
        for name in [thing.name, *thing.aliases]:
            if (" " in name or single_words or name == thing.name) and _contains(text, name):
                out.append(thing.name)
                break
    return out


def _years(text: str, today: date) -> dict[str, int]:
    if m := re.search(rf"\b{_YEAR}\s*(?:-|–|to|and)\s*{_YEAR}\b", text):
        return {"year_min": int(m.group(1)), "year_max": int(m.group(2))}
    if m := re.search(rf"\b(?:since|after|from)\s+{_YEAR}\b", text, re.I):
        return {"year_min": int(m.group(1)) + (1 if m.group(0).lower().startswith("after") else 0)}
    if m := re.search(rf"\bbefore\s+{_YEAR}\b", text, re.I):
        return {"year_max": int(m.group(1)) - 1}
    if m := re.search(rf"\b(?:in|during)\s+{_YEAR}\b", text, re.I):
        return {"year_min": int(m.group(1)), "year_max": int(m.group(1))}
    if m := re.search(r"\b(?:last|past)\s+(\d+|two|three|five)\s+years\b", text, re.I):
        n = {"two": 2, "three": 3, "five": 5}.get(m.group(1).lower()) or int(m.group(1))
        return {"year_min": today.year - n}
    if re.search(r"\b(?:this year|recent(?:ly)?)\b", text, re.I):
        return {"year_min": today.year - 1} if "recent" in text.lower() else {"year_min": today.year}
    return {}


def understand_filters(
    text: str, vendor: VendorProfile, taxonomy: Taxonomy, *, today: date | None = None
) -> dict[str, Any]:
    """The search filters one message names explicitly."""
    out: dict[str, Any] = {}
    if countries := _countries(text):
        out["country"] = countries
    if industries := industries_named(text, taxonomy):
        out["industry"] = industries
    if competitors := _named(text, vendor.competitors, single_words=True):
        out["competitor"] = competitors
    if products := _named(text, vendor.products, single_words=False):
        out["product"] = products
    out.update(_years(text, today or date.today()))
    return out


_ASKING = re.compile(
    r"\b(?:which|what|who|show me|find me|find|give me|list|do we have|have we got|is there|are there|can you|could you"
    r"|please|tell me about|any|some|good|best|great|strong|stories|story|case stud(?:y|ies)|references?|examples?"
    r"|proofs?|prove|proves|proving|showing|shows|show|we|us|our|ours)\b\??",
    re.IGNORECASE,
)
_AGAINST = re.compile(
    r"\b(?:beat|beats|beating|won against|win against|wins against|displac\w*|replac\w*"
    r"|switched from|switch from|moved off|migrated from|instead of|versus|vs\.?|against)\b",
    re.I,
)


def search_text(message: str, understood: dict[str, Any] | None = None) -> str:
    """What to search for: the message without asking boilerplate ("which stories prove") and
    without words that became filters only (regions, years, "beat" next to a competitor):
    they rarely appear in a story's text, so as search terms they only add noise."""
    text = _ASKING.sub(" ", message)
    if (understood or {}).get("competitor"):
        text = _AGAINST.sub(" ", text)
    for alias in sorted(regions(), key=len, reverse=True):
        text = re.sub(
            rf"(?:\b(?:in|from|across|within)\s+(?:the\s+)?)?(?<![\w-]){re.escape(alias)}(?![\w-])",
            " ",
            text,
            flags=re.IGNORECASE,
        )
    text = re.sub(
        rf"\b(?:(?:since|after|from|before|in|during)\s+{_YEAR}|{_YEAR}\s*(?:-|–|to|and)\s*{_YEAR}"
        r"|(?:last|past)\s+(?:\d+|two|three|five)\s+years|this year)\b",
        " ",
        text,
        flags=re.IGNORECASE,
    )
    text = re.sub(r"\s+", " ", text).strip(" ,;?.!")
    if re.search(r"\w{3,}", text):
        return text
    # Nothing left but filters ("stories in the Nordics"): search for what was understood.
    named = [str(v) for key in ("competitor", "product", "industry") for v in (understood or {}).get(key, [])]
    return " ".join(named) or message.strip()


def is_follow_up(text: str) -> bool:
    return bool(_FOLLOW_UP.search(text)) and len(_WORD.findall(text)) <= 14


def understand(
    message: str,
    vendor: VendorProfile,
    taxonomy: Taxonomy,
    *,
    previous: Request | None = None,
    explicit: dict[str, Any] | None = None,
    today: date | None = None,
) -> Request:
    """The request for ``message``: its own filters, merged over the previous request's when
    it is a follow-up, then the caller's explicit filters (UI/API controls) over both."""
    understood = understand_filters(message, vendor, taxonomy, today=today)
    if previous is not None and is_follow_up(message):
        filters = {**previous.filters, **understood}
        extra = search_text(_NARROWING_WORDS.sub(" ", _FOLLOW_UP.sub(" ", message)), understood)
        # Words beyond the narrowing itself ("only the ones with cost savings") refine the topic.
        query = previous.query if len(extra.split()) < 3 else f"{previous.query} {extra}"
        request = Request(query=query, filters=filters, understood=understood, follow_up=True)
    else:
        request = Request(query=search_text(message, understood), filters=dict(understood), understood=understood)
    request.filters.update({k: v for k, v in (explicit or {}).items() if v not in (None, "", [], ())})
    return request
