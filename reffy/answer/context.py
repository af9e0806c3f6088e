"""The numbered stories an answer may use, and how they are shown to a model.

Each story carries its card facts, the passages that matched and its full text (the ground
truth quotes are verified against). Everything in a story is untrusted data - its body and
every metadata field alike (customer, title, industry, products, competitors, tags, quotes,
outcomes, summary), since any of them may come from a file or a web page anyone wrote. So
each story is shown as one JSON object (every value a JSON string, never free-form prompt
lines) between the tags of a boundary drawn at random for each request (``new_boundary``),
which the system prompt names. ``<`` and ``>`` inside values are written as JSON escapes,
so no value can contain a tag at all: it cannot close the fence, open another or pose as
a line of the prompt, whether it guesses the boundary or not.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from reffy.domain.story import StoryCard
from reffy.retrieval.types import Hit

PASSAGE_CHARS = 1400
OPENING_CHARS = 600


@dataclass(slots=True)
class ContextStory:
    n: int
    hit: Hit
    text: str
    passages: list[str] = field(default_factory=list)
    breakdown: list[dict[str, Any]] = field(default_factory=list)

    @property
    def story_id(self) -> str:
        return self.hit.story_id

    @property
    def card(self) -> StoryCard:
        """The story's card as the caller's audience may see it (the hit carries it)."""
        return self.hit.story

    def citation(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "story_id": self.story_id,
            "title": self.hit.title,
            "customer": self.hit.customer,
            "source_link": self.hit.source_link,
            "shareability": self.hit.shareability,
        }


def keyword_passage(query: str, chunks: dict[int, str]) -> int | None:
    """The chunk holding the most distinct words of the query (ties: the earlier one); None when
    none holds any. Not every chunk has a vector (``REFFY_VECTOR_CHUNKS``), so the passage closest
    in meaning may not be the one that answers; every chunk is in the docstore."""
    from reffy.retrieval.text import tokenize

    wanted = set(tokenize(query))
    if not wanted:
        return None
    best, best_n = None, 0
    for index in sorted(chunks):
        n = len(wanted & set(tokenize(chunks[index])))
        if n > best_n:
            best, best_n = index, n
    return best


def build_context(hits: list[Hit], docstore: Any, query: str = "") -> list[ContextStory]:
    """Number the hits 1..n and attach what the answer needs from each story: its opening, the
    passage closest in meaning to the query and the one sharing most of its words."""
    stories = []
    for n, hit in enumerate(hits, start=1):
        stored = docstore.get(hit.story_id) or {"text": "", "chunks": [], "breakdown": []}
        chunks = dict(stored["chunks"])
        passages = []
        picked = [int(hit.passage.rsplit("::", 1)[1])] if hit.passage and "::chunk::" in hit.passage else []
        by_words = keyword_passage(query, chunks) if query else None
        for index in dict.fromkeys([*picked, *([by_words] if by_words is not None else [])]):
            best = chunks.get(index)
            if best:
                passages.append(best[:PASSAGE_CHARS])
        opening = stored["text"][:OPENING_CHARS]
        if opening and not any(opening[:200] in p for p in passages):
            passages.insert(0, opening)
        stories.append(ContextStory(n, hit, stored["text"], passages, stored["breakdown"]))
    return stories


def new_boundary() -> str:
    """A tag name no story can know in advance (64 random bits, drawn per request)."""
    return f"story-{secrets.token_hex(8)}"


def as_data(value: Any) -> str:
    """``value`` as JSON in which no character can start or end a tag (``<``/``>`` escaped).
    ``json.loads`` gives the exact value back."""
    return json.dumps(value, ensure_ascii=False, indent=1).replace("<", "\\u003c").replace(">", "\\u003e")


def story_fields(story: ContextStory) -> dict[str, Any]:
    """What the model is told about one story: facts, summary, outcomes, quotes, passages."""
    card, hit = story.card, story.hit
    fields: dict[str, Any] = {
        "n": story.n,
        "title": hit.title,
        "customer": hit.customer or "unnamed",
        "industry": card.industry_name or hit.industry or "unknown",
        "country": card.country_name or hit.country or "unknown",
        "year": hit.year or "unknown",
        "quality_score": f"{hit.quality}/31",
    }
    for key, values in (("products", card.products), ("competitors", card.competitors), ("tags", card.tags)):
        if values:
            fields[key] = list(values)
    if card.summary:
        fields["summary"] = card.summary
    if card.outcomes:
        fields["outcome_figures"] = list(card.outcomes[:6])
    quotes = [{"speaker": q.speaker or "unattributed", "text": q.text} for q in card.quotes[:2]]
    if quotes:
        fields["quotes"] = quotes
    if story.passages:
        fields["passages"] = list(story.passages)
    return fields


def render_story(story: ContextStory, boundary: str) -> str:
    return f"<{boundary}>\n{as_data(story_fields(story))}\n</{boundary}>"


def render_context(stories: list[ContextStory], boundary: str) -> str:
    return "\n\n".join(render_story(s, boundary) for s in stories)
