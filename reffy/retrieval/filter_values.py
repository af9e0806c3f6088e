"""Filter values as people type them, resolved to what the index stores, or refused with the
valid ones listed. A mistyped filter must never quietly return nothing (and then be counted as
demand for a story nobody has).

- industry: a taxonomy id or name in any case (``Finance``, ``financial services``), a word that
  unambiguously names one (``banking``), or a label the library's own sources use (stories whose
  source says ``industry: e-commerce`` were mapped to ``retail-ecommerce``; the filter
  ``industry=e-commerce`` finds them);
- country: an ISO code or a country name in any case (``dk``, ``Denmark``) or a region
  (``Nordics``);
- product, competitor, tags: the library's own values, in any case;
- shareability: public or internal; years and the minimum score: whole numbers in range.

Pure functions over a :class:`Vocabulary` built once per loaded index.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from reffy.domain.story import StoryCard
from reffy.errors import UnknownFilterValue
from reffy.retrieval.types import SearchFilters

if TYPE_CHECKING:
    from reffy.rubric import Taxonomy

SHAREABILITY = ("public", "internal")
MAX_LISTED = 25


@dataclass(slots=True)
class Vocabulary:
    industries: dict[str, str]  # taxonomy id -> display name
    labels: dict[str, set[str]]  # a source's own industry label (lower case) -> taxonomy ids it was mapped to
    countries: dict[str, str]  # ISO code in the library -> name
    products: dict[str, str]  # lower case -> as stored
    competitors: dict[str, str]
    tags: dict[str, str]
    taxonomy: Any = field(default=None, repr=False)


def vocabulary(docs: Iterable[StoryCard], taxonomy: Taxonomy) -> Vocabulary:
    industries = {i.id: i.name for i in taxonomy.industries}
    labels: dict[str, set[str]] = {}
    countries: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {"products": {}, "competitors": {}, "tags": {}}
    for doc in docs:
        label = doc.industry_label
        if label and doc.industry:
            labels.setdefault(str(label).strip().lower(), set()).add(doc.industry)
        if doc.country:
            countries[doc.country] = doc.country_name or doc.country
        for key, seen in values.items():
            for v in getattr(doc, key):
                seen.setdefault(str(v).lower(), str(v))
    return Vocabulary(
        industries, labels, countries, values["products"], values["competitors"], values["tags"], taxonomy
    )


def _listing(options: Sequence[str]) -> str:
    shown = list(options)[:MAX_LISTED]
    more = len(options) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _suggest(value: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(value.lower(), [o.lower() for o in options], n=1, cutoff=0.75)
    return f" Did you mean {close[0]!r}?" if close else ""


def _industry(value: str, vocab: Vocabulary) -> tuple[str, ...]:
    key = value.strip().lower()
    for ind_id, name in vocab.industries.items():
        if key in (ind_id.lower(), name.lower()):
            return (ind_id,)
    if key in vocab.labels:
        return tuple(sorted(vocab.labels[key]))
    if vocab.taxonomy is not None:
        from reffy.retrieval.facets import industry_of

        found = industry_of(key, vocab.taxonomy)
        if found:
            return (found,)
    options = [f"{i} ({n})" for i, n in vocab.industries.items()]
    raise UnknownFilterValue(
        f"Unknown industry {value!r}.{_suggest(value, vocab.industries)} Valid industries: {_listing(options)}."
    )


def _country(value: str, vocab: Vocabulary) -> tuple[str, ...]:
    from reffy.retrieval.facets import countries_of, regions

    raw = value.strip()
    if raw.upper() in vocab.countries or raw.upper() in {c for codes in regions().values() for c in codes}:
        return (raw.upper(),)
    if len(raw) == 2 and raw.isalpha():
        import pycountry

        if pycountry.countries.get(alpha_2=raw.upper()) is not None:
            return (raw.upper(),)
    if raw.lower() in regions():
        return regions()[raw.lower()]
    codes = countries_of(raw) or countries_of(raw.title())
    if codes:
        return codes
    options = [f"{c} ({n})" for c, n in sorted(vocab.countries.items())]
    raise UnknownFilterValue(
        f"Unknown country {value!r}: use an ISO code or a country name. Countries in this "
        f"library: {_listing(options) or 'none yet'}."
    )


def _listed(value: str, known: dict[str, str], what: str) -> str:
    found = known.get(value.strip().lower())
    if found is None:
        raise UnknownFilterValue(
            f"No story in this library has the {what} {value!r}.{_suggest(value, known.values())} "
            f"Known {what}s: {_listing(sorted(known.values())) or 'none yet'}."
        )
    return found


def resolve(filters: SearchFilters, vocab: Vocabulary) -> SearchFilters:
    """``filters`` with every value in the index's own terms; raises UnknownFilterValue naming
    the valid values when one names nothing in this library."""
    changes: dict[str, Any] = {}
    if filters.industry:
        changes["industry"] = tuple(dict.fromkeys(i for v in filters.industry for i in _industry(v, vocab)))
    if filters.country:
        changes["country"] = tuple(dict.fromkeys(c for v in filters.country for c in _country(v, vocab)))
    for key, known, what in (
        ("product", vocab.products, "product"),
        ("competitor", vocab.competitors, "competitor"),
        ("tags_any", vocab.tags, "tag"),
        ("tags_all", vocab.tags, "tag"),
    ):
        if getattr(filters, key):
            changes[key] = tuple(dict.fromkeys(_listed(v, known, what) for v in getattr(filters, key)))
    if filters.shareability is not None:
        share = filters.shareability.strip().lower()
        if share not in SHAREABILITY:
            raise UnknownFilterValue(f"shareability is public or internal, not {filters.shareability!r}.")
        changes["shareability"] = share
    return replace(filters, **changes) if changes else filters
