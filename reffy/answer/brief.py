"""The offline answer: an extractive brief of the top stories, written by no model.

With no LLM configured (a fresh laptop), ``ask`` still helps: for each of the best stories
it lists the challenge, the solution, the outcome figures and the best quote, all taken
verbatim from the story (through the gold summary and extracted metadata), each cited, and
no sentence twice (an outcome line that repeats the challenge is left out, see
:class:`reffy.wording.Said`).
"""

from __future__ import annotations

import re

from reffy.answer.context import ContextStory
from reffy.wording import Said

LABEL = "Extractive brief — assembled from the stories themselves, not written by an LLM."
BRIEF_STORIES = 3


# A section heading the text extractor glued to the sentence after it ("The challenge By 2022 ...").
_HEADING = re.compile(
    r"^(?:the )?(?:challenge|problem|solution|results?|outcomes?|background|approach|what's next|"
    r"next steps|about [^.]{1,40}?|overview)\s+(?=[A-Z0-9])",
    re.IGNORECASE,
)
_LABELS = re.compile(r"\b[A-Z][\w ]{1,20}:\s")


def readable(sentence: str) -> str | None:
    """A sentence fit to show as-is, or None for fact-table rows and fragments."""
    sentence = _HEADING.sub("", sentence.strip())
    if "|" in sentence or len(_LABELS.findall(sentence)) >= 2 or len(sentence.split()) < 5:
        return None
    return sentence


def _summary_field(summary: str, name: str) -> str | None:
    for line in summary.splitlines():
        if line.startswith(f"{name}: "):
            return readable(line[len(name) + 2 :])
    return None


def story_brief(story: ContextStory) -> str:
    hit, card = story.hit, story.card
    where = ", ".join(
        str(x) for x in (card.industry_name or hit.industry, card.country_name or hit.country, hit.year) if x
    )
    head = f"**[{story.n}] {hit.customer or 'Unnamed customer'} — {hit.title}**"
    facts = (
        f" ({where}; score {hit.quality}/31; {hit.shareability or 'internal'})"
        if where
        else f" (score {hit.quality}/31; {hit.shareability or 'internal'})"
    )
    lines = [head + facts]
    said = Said()  # no sentence twice: an outcome that repeats the challenge, a quote that repeats an outcome
    summary = card.summary or ""
    for label in ("Challenge", "Solution"):
        value = _summary_field(summary, label)
        if value and said.new(value):
            said.say(value)
            lines.append(f"- {label}: {value} [{story.n}]")
    outcomes = []
    for outcome in (readable(o) for o in card.outcomes):
        if outcome and said.new(outcome):
            said.say(outcome)
            outcomes.append(outcome)
        if len(outcomes) == 3:
            break
    if outcomes:
        lines.append(
            "- Outcomes: " + " ".join(o if o.endswith((".", "!", "?")) else o + "." for o in outcomes) + f" [{story.n}]"
        )
    quote = next((q for q in card.quotes if q.text and said.new(q.text)), None)
    if quote:
        who = ", ".join(x for x in (quote.speaker, quote.role) if x)
        lines.append(f"- Quote: “{quote.text}”" + (f" — {who}" if who else "") + f" [{story.n}]")
    return "\n".join(lines)


def brief(stories: list[ContextStory], query: str) -> str:
    """The whole offline answer, as Markdown with [n] citations."""
    top = stories[:BRIEF_STORIES]
    plain = query.translate({ord(c): None for c in '"“”„«»'})  # a query in quotes is not a quotation to verify
    lead = "The strongest match" if len(top) == 1 else f"The {len(top)} strongest matches"
    intro = f"_{LABEL}_\n\n{lead} for: {plain}\n\n"
    return intro + "\n\n".join(story_brief(s) for s in top) + "\n"
