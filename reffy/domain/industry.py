"""Industry labels mapped to the taxonomy: ``map_industry("banking", taxonomy)`` -> ``finance``.

A source's own ``industry`` / ``sector`` / ``vertical`` label names a taxonomy industry by id, by
name, by a known synonym from the lexicon (:mod:`reffy.domain.lexicon`: "banking" -> finance,
"public sector" -> government) or by a close fuzzy match. Shared by the pipeline (metadata wins
over the text when the classifier in :mod:`ingest.extract.industry` decides a story's industry)
and the read side (a filter on a source label finds the stories mapped from it).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from reffy.domain.lexicon import CONCEPT_OF_LABEL, CONCEPTS
from reffy.domain.text import nfc

if TYPE_CHECKING:
    from reffy.rubric import Taxonomy

META_KEYS = ("industry", "sector", "vertical", "industry_id", "segment")  # where sources name an industry
# Concepts a taxonomy may have no industry for: they count for its "other" industry.
FOLDABLE = ("manufacturing", "logistics", "travel-hospitality")


def _norm_label(text: str) -> str:
    text = nfc(str(text)).lower().replace("&", " and ").replace("_", " ")
    text = re.sub(r"[^\w\s-]", " ", text)
    return " ".join(text.replace(" and ", " ").split())


def concept_for(industry_id: str, name: str = "") -> str | None:
    """The lexicon concept a taxonomy industry stands for (by id, then name), if any."""
    for label in (industry_id, name, industry_id.replace("-", " "), name.split("&")[0].split(",")[0]):
        key = nfc(label).lower().strip()
        if key in CONCEPTS:
            return key
        if key in CONCEPT_OF_LABEL:
            return CONCEPT_OF_LABEL[key]
    for label in (industry_id, name):
        for token in re.split(r"[\s,&/-]+", label.lower()):
            if token in CONCEPT_OF_LABEL and len(token) > 2:
                return CONCEPT_OF_LABEL[token]
    return None


def map_industry(label: Any, taxonomy: Taxonomy) -> str | None:
    """The taxonomy id a metadata value names, or None. Tries the id, the name, known
    synonyms ("banking" -> finance, "public sector" -> government) and a fuzzy match."""
    if label is None or isinstance(label, bool):
        return None
    if isinstance(label, list | tuple):
        for item in label:
            hit = map_industry(item, taxonomy)
            if hit:
                return hit
        return None
    raw = str(label).strip()
    if not raw:
        return None
    wanted = _norm_label(raw)
    by_key: dict[str, str] = {}
    for ind in taxonomy.industries:
        by_key[_norm_label(ind.id)] = ind.id
        by_key[_norm_label(ind.name)] = ind.id
    if wanted in by_key:
        return by_key[wanted]
    concepts = {concept_for(i.id, i.name): i.id for i in taxonomy.industries}
    concepts.pop(None, None)
    for candidate in (raw.lower(), wanted, wanted.split()[0] if wanted else ""):
        concept = CONCEPT_OF_LABEL.get(candidate)
        if concept and concept in concepts:
            return concepts[concept]
        if concept and concept in FOLDABLE and "other" in concepts:
            return concepts["other"]
    for token in wanted.split():
        concept = CONCEPT_OF_LABEL.get(token)
        if concept and concept in concepts and len(token) > 3:
            return concepts[concept]
    from rapidfuzz import fuzz, process

    best = process.extractOne(wanted, list(by_key), scorer=fuzz.token_set_ratio)
    if best and best[1] >= 88:
        return by_key[best[0]]
    return None


def industry_from_meta(meta: dict[str, Any] | None, taxonomy: Taxonomy) -> str | None:
    for key in META_KEYS:
        hit = map_industry((meta or {}).get(key), taxonomy)
        if hit:
            return hit
    return None
