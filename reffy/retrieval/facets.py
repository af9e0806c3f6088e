"""Words in a query that name a facet: an industry ("banks", "insurers"), a country
("Denmark", "Danish") or a region ("the Nordics", "DACH").

Two users. Request understanding turns them into filters ("a European bank" -> country in
Europe, industry finance). And search drops them from the text once a filter covers them:
inside a pool already restricted to finance, "banks and fintechs" no longer tells stories
apart, yet as search terms (BM25 and the query embedding alike) they pull up stories that
are *about banking* ahead of stories about what was asked. Matching is deliberately
conservative (whole words, unambiguous vocabulary only): words that are also topics
("software", "payments", "health") are never taken for an industry.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from reffy.retrieval.types import SearchFilters
    from reffy.rubric import Taxonomy

# Industry words too ambiguous in a question to stand for an industry ("public", "services", "it").
AMBIGUOUS = frozenset(
    {
        "it",
        "public",
        "services",
        "service",
        "power",
        "learning",
        "other",
        "others",
        "miscellaneous",
        "commerce",
        "research",
        "delivery",
        "talent",
        "science",
        "internet",
        "financial",
        "investment",
        "streaming",
        "mobility",
        "workforce",
        "shopping",
        "music",
        "film",
        "news",
        "transport",
        "health",
        "energy",
        "software",
        "technology",
        "tech",
        "media",
        "communications",
        "payments",
        "industrial",
        "games",
        "wealth",
        "marketplace",
        "agency",
        "agencies",
        "associations",
        "cars",
        "sports",
        "travel",
        "teaching",
        "federal",
        "law",
        "saas",
        "mining",
    }
)
# How people name an industry in a question, beyond the lexicon's own labels.
EXTRA_INDUSTRY_WORDS = {
    "banks": "bank",
    "retailers": "retailer",
    "retail chain": "retailer",
    "insurance company": "insurer",
    "universities": "higher education",
    "university": "higher education",
    "hospitals": "hospital",
    "telcos": "telco",
    "airline": "airlines",
    "manufacturers": "manufacturer",
    "utilities": "utility",
    "councils": "public sector",
    "council": "public sector",
    "municipality": "municipal",
    "ministry": "government",
    "law firm": "law firms",
    "pharma companies": "pharma",
}
_WORD = re.compile(r"[\w'’&-]+")
# Glue left behind when a facet word goes: "inside banks and fintechs", "for the insurers".
_LEAD = frozenset({"in", "inside", "at", "for", "from", "across", "within", "among", "by", "of", "the", "a", "an"})
_JOIN = frozenset({"and", "or", "&", "plus"})


@lru_cache(maxsize=1)
def regions() -> dict[str, tuple[str, ...]]:
    """{alias: ISO codes} from reffy/resources/regions.yaml."""
    raw = yaml.safe_load(resources.files("reffy").joinpath("resources/regions.yaml").read_text(encoding="utf-8"))
    out: dict[str, tuple[str, ...]] = {}
    for region in raw["regions"].values():
        for alias in region["aliases"]:
            out[alias.lower()] = tuple(region["countries"])
    return out


def words(text: str) -> list[str]:
    return [w.lower().strip("'’") for w in _WORD.findall(text)]


def ngrams(text: str, n_max: int = 3) -> list[str]:
    """Word n-grams, longest first (so "insurance company" wins over "insurance")."""
    ws = words(text)
    return [" ".join(ws[i : i + n]) for n in range(n_max, 0, -1) for i in range(len(ws) - n + 1)]


def _singular(gram: str) -> list[str]:
    out = [gram]
    if gram.endswith("ies") and len(gram) > 4:
        out.append(gram[:-3] + "y")
    if gram.endswith("es") and len(gram) > 4:
        out.append(gram[:-2])
    if gram.endswith("s") and len(gram) > 3:
        out.append(gram[:-1])
    return out


def industry_of(gram: str, taxonomy: Taxonomy) -> str | None:
    """The taxonomy industry a word or phrase unambiguously names ("banks" -> finance), else None."""
    from reffy.domain.industry import map_industry
    from reffy.domain.lexicon import CONCEPT_OF_LABEL

    if gram in AMBIGUOUS:
        return None
    for form in (gram, *_singular(gram)[1:]):
        label = EXTRA_INDUSTRY_WORDS.get(form, form)
        if label in AMBIGUOUS or form in AMBIGUOUS:
            return None
        if label in CONCEPT_OF_LABEL or any(label in (i.id, i.name.lower()) for i in taxonomy.industries):
            industry = map_industry(label, taxonomy)
            if industry and industry != "other":
                return industry
    return None


def industries_named(text: str, taxonomy: Taxonomy) -> list[str]:
    """Industries the text names, in order of appearance of the longest phrases first."""
    found: list[str] = []
    for gram in ngrams(text):
        industry = industry_of(gram, taxonomy)
        if industry and industry not in found:
            found.append(industry)
    return found


def countries_of(gram: str) -> tuple[str, ...]:
    """ISO codes a word or phrase names: a region alias or a country (name, code, demonym)."""
    from reffy.domain.country import find_countries

    alias = gram.lower()
    if alias in regions():
        return regions()[alias] if alias != "eu" or gram == "EU" else ()
    found = tuple(code for code, _ in find_countries(gram))
    # the phrase must be the name ("New Zealand"), not contain one ("for Danish")
    if found and " " in gram and (find_countries(gram.split(" ", 1)[1]) or find_countries(gram.rsplit(" ", 1)[0])):
        return ()
    return found


def _covered(gram: str, filters: SearchFilters, taxonomy: Taxonomy | None) -> bool:
    """Does ``gram`` name an industry or countries that the filters already require?"""
    if filters.industry and taxonomy is not None and industry_of(gram.lower(), taxonomy) in filters.industry:
        return True
    return bool(filters.country and (codes := countries_of(gram)) and set(codes) <= set(filters.country))


def strip_filtered(text: str, filters: SearchFilters, taxonomy: Taxonomy | None) -> tuple[str, list[str]]:
    """(``text`` without the words that name an industry or country its filters already require
    and the glue they leave, the facet words removed): "coding agents inside banks and
    fintechs" with industry=finance -> ("coding agents", ["banks", "fintechs"]). Unchanged
    when nothing is covered, or when nothing but facet words would be left."""
    if not (filters.industry or filters.country):
        return text, []
    tokens = list(_WORD.finditer(text))
    raw = [m.group(0).strip("'’") for m in tokens]
    lowered = [w.lower() for w in raw]
    covered = [False] * len(tokens)
    for n in (3, 2, 1):
        for i in range(len(tokens) - n + 1):
            if any(covered[i : i + n]):
                continue
            if _covered(" ".join(raw[i : i + n]), filters, taxonomy):
                covered[i : i + n] = [True] * n
    if not any(covered):
        return text, []
    facet_words = [m.group(0) for m, c in zip(tokens, covered, strict=True) if c]
    # Glue: joiners next to a covered word, and leading prepositions/articles before a covered run.
    joiners = [
        i
        for i, word in enumerate(lowered)
        if word in _JOIN and ((i > 0 and covered[i - 1]) or (i + 1 < len(tokens) and covered[i + 1]))
    ]
    for i in joiners:
        covered[i] = True
    for i in range(len(tokens) - 2, -1, -1):
        if lowered[i] in _LEAD and covered[i + 1]:
            covered[i] = True
    kept = [m.group(0) for m, c in zip(tokens, covered, strict=True) if not c]
    if not any(re.search(r"\w{3,}", w) for w in kept):
        return text, []
    out, last = [], 0
    for m, c in zip(tokens, covered, strict=True):
        if c:
            out.append(text[last : m.start()])
            last = m.end()
    out.append(text[last:])
    joined = re.sub(r"\s*([,;])(?:\s*[,;])+", r"\1", re.sub(r"\s+", " ", "".join(out)))
    return re.sub(r"\s+([,;.:!?])", r"\1", joined).strip(" ,;-–"), facet_words
