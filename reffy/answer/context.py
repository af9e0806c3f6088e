"""The numbered stories an answer may use, and how they are shown to a model.

Each story carries its card facts, the passages that matched and its full text (the ground
truth quotes are verified against). Story text is untrusted data: it is fenced in
``<story>`` blocks whose delimiters cannot be forged from inside a story.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from reffy.retrieval.types import Hit

PASSAGE_CHARS = 1400
OPENING_CHARS = 600
_FENCE = re.compile(r"</?\s*story\b", re.IGNORECASE)


@dataclass(slots=True)
class ContextStory:
    n: int
    hit: Hit
    card: dict[str, Any]
    text: str
    passages: list[str] = field(default_factory=list)
    breakdown: list[dict[str, Any]] = field(default_factory=list)

    @property
    def story_id(self) -> str:
        return self.hit.story_id

    def citation(self) -> dict[str, Any]:
        return {"n": self.n, "story_id": self.story_id, "title": self.hit.title, "customer": self.hit.customer,
                "source_link": self.hit.source_link, "shareability": self.hit.shareability}  # fmt: skip


def build_context(hits: list[Hit], by_id: dict[str, dict[str, Any]], docstore: Any) -> list[ContextStory]:
    """Number the hits 1..n and attach what the answer needs from each story."""
    stories = []
    for n, hit in enumerate(hits, start=1):
        stored = docstore.get(hit.story_id) or {"text": "", "chunks": [], "breakdown": []}
        chunks = dict(stored["chunks"])
        passages = []
        if hit.passage and "::chunk::" in hit.passage:
            best = chunks.get(int(hit.passage.rsplit("::", 1)[1]))
            if best:
                passages.append(best[:PASSAGE_CHARS])
        opening = stored["text"][:OPENING_CHARS]
        if opening and not any(opening[:200] in p for p in passages):
            passages.insert(0, opening)
        stories.append(ContextStory(n, hit, by_id.get(hit.story_id, {}), stored["text"], passages, stored["breakdown"]))
    return stories


def _clean(text: str) -> str:
    return _FENCE.sub(lambda m: m.group(0).replace("<", "‹"), text)


def render_story(story: ContextStory) -> str:
    card, hit = story.card, story.hit
    facts = [f"Customer: {hit.customer or 'unnamed'}", f"Industry: {card.get('industry_name') or hit.industry or 'unknown'}",
             f"Country: {card.get('country_name') or hit.country or 'unknown'}", f"Year: {hit.year or 'unknown'}",
             f"Quality score: {hit.quality}/31"]  # fmt: skip
    lines = [f'<story n="{story.n}">', f"Title: {_clean(hit.title)}", " | ".join(facts)]
    if card.get("summary"):
        lines.append(f"Summary: {_clean(card['summary'])}")
    outcomes = [o.get("text", o) if isinstance(o, dict) else o for o in card.get("outcomes") or []]
    if outcomes:
        lines.append("Outcome figures: " + "; ".join(_clean(str(o)) for o in outcomes[:6]))
    for quote in (card.get("quotes") or [])[:2]:
        speaker = quote.get("speaker") or "unattributed"
        lines.append(f"Quote ({_clean(speaker)}): \u201c{_clean(quote.get('text', ''))}\u201d")
    for passage in story.passages:
        lines.append(f"Passage: {_clean(passage)}")
    lines.append("</story>")
    return "\n".join(lines)


def render_context(stories: list[ContextStory]) -> str:
    return "\n\n".join(render_story(s) for s in stories)
