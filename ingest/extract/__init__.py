"""Offline metadata extraction: deterministic, explainable rules plus one small embedding
model, no LLM.

``extract_metadata(story, vendor=..., classifier=...)`` fills a
:class:`reffy.models.StoryMetadata`: customer, country, industry, the vendor's products
and competitors named in the story, direct quotes, quantified outcomes, and one
challenge and one solution sentence for the summary. ``shareability`` is left for the
scorer to decide.

Each field comes from a small module with a pure function:

=============  ===================================================================
``customer``   :func:`ingest.extract.customer.find_customer`
``country``    :func:`reffy.domain.country.primary_country`
``industry``   :class:`ingest.extract.industry.IndustryClassifier`
``quotes``     :func:`ingest.extract.quotes.find_quotes`
``outcomes``   :func:`ingest.extract.outcomes.find_outcomes`
products etc.  :func:`find_products`, :func:`find_competitors`, :func:`find_challenge_solution`
=============  ===================================================================

Metadata supplied with a story (front matter, spreadsheet columns) always wins over what
is read from the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ingest.extract.customer import find_customer, is_anonymous
from ingest.extract.outcomes import find_figures, find_outcomes
from ingest.extract.quotes import find_quotes
from reffy.domain.country import find_countries, primary_country
from reffy.domain.text import (
    ASCII_FOLDS,
    CueGate,
    all_sentences,
    cue_gate,
    lowered_for_gates,
    nfc,
    required_literal,
    split_alternatives,
)
from reffy.models import StoryInput, StoryMetadata

if TYPE_CHECKING:
    from ingest.extract.industry import IndustryClassifier
    from reffy.rubric import NamedThing, VendorProfile

__all__ = [
    "extract_many",
    "extract_metadata",
    "find_challenge_solution",
    "find_competitors",
    "find_countries",
    "find_customer",
    "find_figures",
    "find_outcomes",
    "find_products",
    "find_quotes",
    "is_anonymous",
    "primary_country",
]


# -- vendor products and competitors ------------------------------------------------------------
def _name_pattern(name: str) -> re.Pattern[str]:
    """Whole-word match; single words case-sensitive ("Route" is not "route"), phrases not."""
    escaped = re.escape(name.strip()).replace(r"\ ", r"[\s-]+")
    flags = 0 if " " not in name.strip() else re.IGNORECASE
    return re.compile(rf"(?<![\w-]){escaped}(?![\w-])", flags)


class _NameFilter:
    """False for a name :func:`_name_pattern` cannot find in the text: a single word
    (matched case-sensitively) that is not a substring of it, or a phrase whose first word's
    ASCII beginning is not in its lower-cased form (exact unless the text has one of the
    non-ASCII letters a case-insensitive match equates with ASCII ones). Most of a vendor
    profile's names are absent from most stories: a substring test instead of a search."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lowered: str | None = None
        self.folds = ASCII_FOLDS.search(text) is not None

    def __call__(self, name: str) -> bool:
        name = name.strip()
        if " " not in name:
            return name in self.text
        if self.folds:
            return True
        literal = required_literal(re.escape(name).replace(r"\ ", r"[\s-]+"))
        if not literal:
            return True
        if self.lowered is None:
            self.lowered = self.text.lower()
        return literal in self.lowered


def _find_named(text: str, things: Iterable[NamedThing], *, single_word_needs: str | None = None) -> list[str]:
    """Canonical names of ``things`` mentioned in ``text`` (by name or alias), in order of
    first mention. Single-word aliases count only when ``single_word_needs`` (the vendor's
    name) also appears, so "Flow" or "Assist" in a sentence is not read as a product."""
    text = nfc(text)
    could_occur = _NameFilter(text)
    gate = True
    if single_word_needs:
        gate = re.search(rf"(?<![\w-]){re.escape(single_word_needs)}(?![\w-])", text, re.IGNORECASE) is not None
    found: dict[str, int] = {}
    for thing in things:
        first = None
        for name in thing.names:
            if not name or not name.strip():
                continue
            single = " " not in name.strip()
            if (
                single
                and single_word_needs
                and name.strip().lower() != single_word_needs.lower()
                and name != thing.name
                and not gate
            ):
                continue
            if not could_occur(name):
                continue
            m = _name_pattern(name).search(text)
            if m and (first is None or m.start() < first):
                first = m.start()
        if first is not None:
            found[thing.name] = first
    return [name for name, _ in sorted(found.items(), key=lambda kv: kv[1])]


def find_products(text: str, vendor: VendorProfile | None, meta: dict[str, Any] | None = None) -> list[str]:
    """The vendor's products named in the story (canonical names), metadata first."""
    if vendor is None:
        return []
    out: list[str] = []
    listed = (meta or {}).get("products")
    if isinstance(listed, str):
        listed = list(re.split(r"[;,|]", listed))
    for raw in listed or []:
        raw = str(raw).strip()
        if not raw:
            continue
        canonical = next((p.name for p in vendor.products if raw.lower() in {n.lower() for n in p.names}), raw)
        if canonical not in out:
            out.append(canonical)
    for name in _find_named(text, vendor.products, single_word_needs=vendor.name or None):
        if name not in out:
            out.append(name)
    return out


def find_competitors(text: str, vendor: VendorProfile | None) -> list[str]:
    """The vendor's competitors named in the story (canonical names, by name or alias)."""
    if vendor is None:
        return []
    return _find_named(text, vendor.competitors)


# -- challenge and solution -------------------------------------------------------------------
_CHALLENGE = re.compile(
    r"\b(?:challeng\w*|problem\w*|struggl\w*|pain\w*|difficult\w*|bottleneck\w*|manual\w*|slow\w*|backlog\w*|"
    r"costly|expensive|inefficien\w*|frustrat\w*|lack(?:ed|s|ing)?|unable|could not|couldn't|needed to|had to|"
    r"faced|risk\w*|error-prone|time-consuming|overwhelm\w*|complain\w*|churn\w*|wait\w*|hold times?|"
    r"fragmented|scattered|limited|legacy|outdated|spent|rising|growing volumes?|pressure)\b",
    re.IGNORECASE,
)
_SOLUTION = re.compile(
    r"\b(?:deploy\w*|implement\w*|built|build\w*|rolled out|roll\w* out|introduc\w*|adopt\w*|chose|selected|"
    r"launch\w*|uses|using|integrat\w*|automat\w*|solution|went live|pilot\w*|replac\w*|developed|created|"
    r"designed|partnered|switched|moved to|now)\b",
    re.IGNORECASE,
)


def _gate_of(pattern: re.Pattern[str]) -> CueGate:
    """A cheap necessary condition for a ``\\b(?:cue|cue...)\\b`` pattern (see :class:`CueGate`)."""
    text = pattern.pattern
    words = (
        split_alternatives(text[len(r"\b(?:") : -len(r")\b")])
        if text.startswith(r"\b(?:") and text.endswith(r")\b")
        else None
    )
    return (cue_gate(words) if words else None) or CueGate.ANY


_CHALLENGE_GATE, _SOLUTION_GATE = _gate_of(_CHALLENGE), _gate_of(_SOLUTION)
_CHALLENGE_HEADING = re.compile(r"\b(?:challenge|problem|background|before|situation|pain|why)\b", re.IGNORECASE)
_SOLUTION_HEADING = re.compile(
    r"\b(?:solution|approach|implementation|what (?:they|we) did|how|architecture|"
    r"deployment|rollout|technical)\b",
    re.IGNORECASE,
)


def find_challenge_solution(
    text: str, products: Sequence[str] = (), vendor_name: str = "", title: str = ""
) -> tuple[str | None, str | None]:
    """The most challenge-like and the most solution-like sentence (simple cue words,
    helped by section headings and product mentions); None when nothing qualifies."""
    best: dict[str, tuple[float, int, str]] = {}
    names = [n for n in [*products, vendor_name] if n]
    triples = all_sentences(nfc(text), with_kind=True)
    gated = [lowered_for_gates(sentence) for _, _, sentence in triples]
    joined = "\n".join(low for low in gated if low is not None)
    challenge_gate, solution_gate = _CHALLENGE_GATE.narrowed(joined), _SOLUTION_GATE.narrowed(joined)
    headings: dict[str, tuple[float, float]] = {}
    for order, (kind, heading, sentence) in enumerate(triples):
        words = len(sentence.split())
        if kind == "quote" or words < 8 or words > 60 or sentence.lstrip().startswith(('"', "“", "'")):
            continue
        if sentence.rstrip().endswith("?"):
            continue
        position = 1.0 / (1.0 + order / 40.0)
        # each pattern once per sentence, and not at all where its gate says it cannot match
        challenge_cues = len(_CHALLENGE.findall(sentence)) if challenge_gate.admits(gated[order]) else 0
        solution_cues = len(_SOLUTION.findall(sentence)) if solution_gate.admits(gated[order]) else 0
        if heading not in headings:  # sentences share their heading: read each one once
            headings[heading] = (
                2.0 if _CHALLENGE_HEADING.search(heading) else 0.0,
                2.0 if _SOLUTION_HEADING.search(heading) else 0.0,
            )
        c = challenge_cues + headings[heading][0]
        s = solution_cues + headings[heading][1]
        if names:
            lower = sentence.lower()
            s += 1.5 * sum(1 for n in names if n.lower() in lower)
        if c >= 1:
            score = c + 0.5 * position - 0.5 * solution_cues
            if "challenge" not in best or score > best["challenge"][0]:
                best["challenge"] = (score, order, sentence)
        if s >= 1:
            score = s + 0.5 * position - 0.3 * challenge_cues
            if "solution" not in best or score > best["solution"][0]:
                best["solution"] = (score, order, sentence)
    challenge = best["challenge"][2] if "challenge" in best and best["challenge"][0] >= 2.0 else None
    solution = best["solution"][2] if "solution" in best and best["solution"][0] >= 2.0 else None
    if challenge is not None and challenge == solution:
        solution = None
    return challenge, solution


# -- everything together ------------------------------------------------------------------------
def extract_metadata(
    story: StoryInput,
    *,
    vendor: VendorProfile | None = None,
    classifier: IndustryClassifier | None = None,
    industry: tuple[str | None, float] | None = None,
) -> StoryMetadata:
    """All offline metadata for one story. ``classifier`` may be None (industry is then
    left None unless ``industry`` is given, e.g. from :meth:`IndustryClassifier.classify_many`)."""
    title, text, meta = story.title or "", story.text or "", dict(story.meta or {})
    customer = find_customer(title, text, meta, vendor)
    country = primary_country(title, text, meta, customer)
    if industry is None and classifier is not None:
        industry = classifier.classify(title, text, meta, customer=customer)
    products = find_products(f"{title}\n{text}", vendor, meta)
    challenge, solution = find_challenge_solution(text, products, vendor.name if vendor else "", title)
    return StoryMetadata(
        customer=customer,
        country=country,
        industry=industry[0] if industry else None,
        products=products,
        competitors=find_competitors(f"{title}\n{text}", vendor),
        quotes=find_quotes(text),
        outcomes=find_outcomes(text, title=title, names=[*products, vendor.name if vendor else ""]),
        shareability=None,
        challenge=challenge,
        solution=solution,
    )


def extract_many(
    stories: Sequence[StoryInput],
    *,
    vendor: VendorProfile | None = None,
    classifier: IndustryClassifier | None = None,
) -> list[StoryMetadata]:
    """:func:`extract_metadata` for many stories, classifying industries in batches."""
    industries: list[tuple[str | None, float] | None] = [None] * len(stories)
    if classifier is not None:
        industries = list(classifier.classify_many([(s.title, s.text, s.meta) for s in stories]))
    return [extract_metadata(s, vendor=vendor, classifier=None, industry=ind) for s, ind in zip(stories, industries)]
