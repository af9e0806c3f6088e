"""What a story card and a "copy as reference" snippet say, as pure functions.

Kept free of Streamlit so the wording sales people paste into emails is tested directly, and
so every page formats a story the same way. Inputs are the service's own types: a search
``Hit``, a ``StoryCard`` and a ``StoryDetail`` (reffy.domain.story).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from reffy.domain.story import Criterion, Quote, StoryCard
from reffy.retrieval.types import Hit

MAX_SCORE = 31
# Fields an analyst may override besides per-criterion points (``points.<criterion id>``);
# the service validates every value, this list only fills the editor's drop-down.
OVERRIDE_FIELDS = ("customer", "title", "industry", "country", "products", "competitors", "shareability")
_FIGURE = re.compile(r"\d")
_YEAR = re.compile(r"\b(19|20)\d\d\b")
_RESULT = re.compile(
    r"%|\b(down|up|fell|rose|cut|saved|saving|reduced|lower|higher|faster|halved|doubled|"
    r"increased|decreased|from .{1,40} to)\b",
    re.IGNORECASE,
)
_CONTEXT = re.compile(r"\b(challenge|wanted|pressure|competition|favourite|goal|target)\b", re.IGNORECASE)


@dataclass(slots=True)
class Card:
    """Everything a story card shows, from a hit plus (when readable) the story's details."""

    story_id: str
    title: str
    customer: str | None = None
    industry: str | None = None
    country: str | None = None
    year: int | None = None
    quality: int | None = None
    shareability: str | None = None
    source_link: str | None = None
    outcome: str | None = None
    quote: Quote | None = None
    why: str = ""
    passage: str | None = None
    products: list[str] = field(default_factory=list)

    @property
    def public(self) -> bool:
        return self.shareability == "public"


def build_card(hit: Hit, story: StoryCard | None = None) -> Card:
    """A card from a search hit (its facts, already filtered for the audience); ``story`` (the
    story's current card, looked up for this request) adds the names, the outcome figure, the
    quote and the products. Without it (the story is gone or now hidden from this audience) the
    card shows the hit's facts only."""
    return Card(
        story_id=hit.story_id,
        title=hit.title,
        customer=hit.customer,
        industry=(story.industry_name if story else None) or hit.industry,  # people's names when known
        country=(story.country_name if story else None) or hit.country,
        year=hit.year,
        quality=hit.quality,
        shareability=hit.shareability,
        source_link=web_link(hit.source_link) or web_link(hit.source_uri),
        outcome=top_outcome(story.outcomes) if story else None,
        quote=best_quote(story.quotes) if story else None,
        why=hit.why or "",
        passage=hit.passage,
        products=list(story.products) if story else [],
    )


def page_card(story: StoryCard) -> Card:
    """The card a story page shows (and copies as a reference) for ``story``."""
    return Card(
        story_id=story.story_id,
        title=story.title,
        customer=story.customer,
        industry=story.industry_name or story.industry,
        country=story.country_name or story.country,
        year=story.year,
        quality=story.score,
        shareability=story.shareability,
        source_link=web_link(story.source_link) or web_link(story.source_uri),
        outcome=top_outcome(story.outcomes),
        quote=best_quote(story.quotes),
        products=list(story.products),
    )


def score_badge(quality: int | None) -> str:
    return f"{quality}/{MAX_SCORE}" if quality is not None else f"?/{MAX_SCORE}"


def score_colour(quality: int | None) -> str:
    """Badge colour: green for a story to lead with, orange for usable, grey otherwise."""
    if quality is None:
        return "gray"
    if quality >= 24:
        return "green"
    if quality >= 12:
        return "orange"
    return "gray"


def share_label(shareability: str | None) -> tuple[str, str]:
    """(label, colour): public stories may go to customers; internal ones may not."""
    if shareability == "public":
        return "public", "blue"
    return "internal only", "red"


def _outcome_weight(outcome: str) -> int:
    """How much an extracted outcome reads like a result figure (higher is better)."""
    text = _YEAR.sub("", outcome)
    weight = 2 * bool(_FIGURE.search(text)) + 2 * bool(_RESULT.search(text))
    weight -= 2 * bool(_CONTEXT.search(outcome)) + (len(outcome) > 200)
    return weight


def top_outcome(outcomes: Sequence[str]) -> str | None:
    """The outcome to headline: a result with a figure ("down 52%", "from 23 to 11 days")
    rather than the situation before; ties go to the extractor's order."""
    usable = [o.strip() for o in outcomes if o and o.strip()]
    if not usable:
        return None
    return max(usable, key=lambda o: (_outcome_weight(o), -usable.index(o)))


def best_quote(quotes: Sequence[Quote]) -> Quote | None:
    """The quote to show: the first attributed one of a readable length, else the first."""
    usable = [q for q in quotes if q.text]
    for quote in usable:
        if quote.speaker and 40 <= len(quote.text) <= 320:
            return quote
    return usable[0] if usable else None


def quote_line(quote: Quote | None) -> str | None:
    if not quote:
        return None
    text = quote.text.strip().strip('"“”')
    return f"“{text}”" + (f" — {quote.speaker}" if quote.speaker else "")


def facts_line(card: Card) -> str:
    """'Banking & financial services · Denmark · 2024': the facts a seller checks first, skipping unknowns."""
    return " · ".join(str(v) for v in (card.industry, card.country, card.year) if v)


def web_link(url: str | None) -> str | None:
    """``url`` when it is a web address someone else can open; None for a path on the server
    (``file:///...``: useless in an e-mail and blocked by browsers)."""
    return url if url and url.strip().lower().startswith(("https://", "http://")) else None


def file_name(uri: str) -> str:
    """The last part of a source address ('file:///srv/stories/nordvik.html' -> 'nordvik.html')."""
    from urllib.parse import unquote, urlsplit

    path = unquote(urlsplit(uri).path) if "://" in uri else uri
    return path.rstrip("/").rsplit("/", 1)[-1] or uri


def reference_snippet(card: Card) -> str:
    """Plain text a seller pastes into an email: who, what, the figure, the quote, the link.

    Internal stories say so in the first line, so the snippet cannot leave the company by mistake,
    and end with whom to ask instead of a link; a public story carries its published address."""
    who = card.customer or "A customer"
    facts = ", ".join(str(v) for v in (card.industry, card.country, card.year) if v)
    lines = [f"{who}{f' ({facts})' if facts else ''}: {card.title}"]
    if not card.public:
        lines[0] = "[INTERNAL ONLY: not for customers] " + lines[0]
    if card.outcome:
        lines.append(f"Outcome: {card.outcome}")
    quote = quote_line(card.quote)
    if quote:
        lines.append(quote)
    link = web_link(card.source_link)
    if card.public:
        lines.append(f"Source: {link}" if link else "Source: ask marketing for the published version.")
    else:
        lines.append(f"Internal story (Reffy {card.story_id[:12]}): ask marketing before sharing it with a customer.")
        if link:
            lines.append(f"Internal link: {link}")
    return "\n".join(lines)


def citation_label(citation: dict[str, Any]) -> str:
    """'[2] Nordvik Bank: How Nordvik Bank took ...' for the list under an answer."""
    who = citation.get("customer")
    title = citation.get("title") or citation.get("story_id", "")
    return f"[{citation.get('n')}] " + (f"{who}: {title}" if who and who not in title else title)


def search_filters(
    *,
    industry: list[str] | None = None,
    country: list[str] | None = None,
    product: list[str] | None = None,
    competitor: list[str] | None = None,
    years: tuple[int, int] | None = None,
    year_bounds: tuple[int, int] | None = None,
    min_score: int = 0,
) -> dict[str, Any]:
    """The filter dict the service takes, leaving out what the user did not narrow.

    A year range equal to the whole library's span is not a filter: applying it would drop
    every story with no known year."""
    out: dict[str, Any] = {}
    for key, values in (("industry", industry), ("country", country), ("product", product), ("competitor", competitor)):
        if values:
            out[key] = list(values)
    if years and years != year_bounds:
        out["year_min"], out["year_max"] = int(years[0]), int(years[1])
    if min_score:
        out["min_score"] = int(min_score)
    return out


def short(text: str | None, limit: int = 220) -> str:
    """One line of at most ``limit`` characters, cut at a word."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#$~|])")


def md(text: Any) -> str:
    """Text safe inside Streamlit markdown: no accidental emphasis, links, HTML or LaTeX ($)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def when(iso: str | None, *, now: datetime | None = None, tz: str | None = None) -> str:
    """A stored UTC timestamp as people say it, in the browser's time zone when known:
    'today 14:05', 'yesterday 09:12', '3 Jun 14:05', '3 Jun 2025' (another year)."""
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    if tz:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            zone = ZoneInfo(tz)
            moment, now = moment.astimezone(zone), now.astimezone(zone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    clock = moment.strftime("%H:%M")
    if moment.date() == now.date():
        return f"today {clock}"
    if moment.date() == (now - timedelta(days=1)).date():
        return f"yesterday {clock}"
    day = f"{moment.day} {moment.strftime('%b')}"
    return f"{day} {clock}" if moment.year == now.year else f"{day} {moment.year}"


def conversation_labels(
    conversations: list[dict[str, Any]], *, now: datetime | None = None, tz: str | None = None
) -> list[str]:
    """Sidebar labels for conversations: the title and when it was last active, and a number
    when two would still read the same ('Which bank … · today 14:05 (2)')."""
    labels = [
        f"{short(c.get('title') or 'New conversation', 48)} · {when(c.get('updated_at'), now=now, tz=tz)}"
        for c in conversations
    ]
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


@dataclass(slots=True)
class RubricSection:
    """One rubric dimension of a story: its points and its criteria, each with its whole evidence."""

    name: str
    points: int
    max_points: int
    criteria: list[Criterion]

    @property
    def label(self) -> str:
        return f"{self.name} · {self.points} of {self.max_points} points"


def rubric_sections(criteria: Sequence[Criterion]) -> list[RubricSection]:
    """The story's criteria grouped by dimension, in rubric order (names, never ids)."""
    sections: dict[str, RubricSection] = {}
    for c in criteria:
        name = c.dimension_name or c.dimension or "Other"
        section = sections.setdefault(name, RubricSection(name, 0, 0, []))
        section.points += int(c.points or 0)
        section.max_points += int(c.max_points or 0)
        section.criteria.append(c)
    return list(sections.values())


def criterion_line(c: Criterion) -> str:
    """'**Customer named** · 2 of 2 points' (and why points were withdrawn or changed)."""
    line = f"**{md(c.name or c.id)}** · {c.points} of {c.max_points} points"
    if c.withdrawn:
        line += " · points withdrawn: the quote given as evidence is not in the story"
    if c.overridden:
        line += " · set by an analyst"
    return line


def explorer_links(story: StoryCard) -> list[tuple[str, dict[str, str]]]:
    """(label, explorer query) for the story's industry and country: 'More Banking & financial
    services stories' -> {'industry': 'finance'}. The query carries the id the filters resolve."""
    links = []
    if story.industry:
        links.append((f"More {story.industry_name or story.industry} stories", {"industry": story.industry}))
    if story.country:
        links.append((f"More stories from {story.country_name or story.country}", {"country": story.country}))
    return links
