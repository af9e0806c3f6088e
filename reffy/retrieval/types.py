"""Types shared by the retrievers, the search engine and the evaluation harness."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Metadata filters. Multi-valued fields match any of the given values, except
    ``tags_all``. A story with no year fails any year filter."""

    industry: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    product: tuple[str, ...] = ()
    competitor: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    tags_all: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    min_score: int | None = None
    shareability: str | None = None  # "public": only public stories (external audience)
    # The audience searching (set by the service, never by a caller): a story that is its
    # duplicate group's story only for the other audience (an internal canonical, or the public
    # twin shown to external users in its place) is left out, so each group appears once.
    audience: str | None = None

    @property
    def empty(self) -> bool:
        return self == SearchFilters()

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> SearchFilters:
        """From the dev-query / API form: scalars or lists; unknown keys are an error."""
        raw = dict(raw or {})
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown filter(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if value is None or value == [] or value == "":
                continue
            if key in ("year_min", "year_max", "min_score"):
                out[key] = _whole(key, value)
            elif key in ("shareability", "audience"):
                out[key] = str(value)
            else:
                out[key] = tuple(str(v) for v in (value if isinstance(value, list | tuple) else [value]))
        return cls(**out)

    def matches(self, doc: dict[str, Any]) -> bool:
        """Reference semantics over a story's metadata (used to verify retrievers and in tests).
        ``doc`` keys: industry, country, products, competitors, tags, year, score, shareability,
        audience (missing: all)."""
        if self.industry and doc.get("industry") not in self.industry:
            return False
        if self.country and doc.get("country") not in self.country:
            return False
        if self.product and not set(self.product) & set(doc.get("products") or []):
            return False
        if self.competitor and not set(self.competitor) & set(doc.get("competitors") or []):
            return False
        tags = set(doc.get("tags") or [])
        if self.tags_any and not set(self.tags_any) & tags:
            return False
        if self.tags_all and not set(self.tags_all) <= tags:
            return False
        year = doc.get("year")
        if self.year_min is not None and (year is None or year < self.year_min):
            return False
        if self.year_max is not None and (year is None or year > self.year_max):
            return False
        if self.min_score is not None and (doc.get("score") or 0) < self.min_score:
            return False
        if self.shareability and doc.get("shareability") != self.shareability:
            return False
        return not (self.audience and doc.get("audience") not in (None, "all", self.audience))


_RANGES = {"year_min": (1900, 2100), "year_max": (1900, 2100), "min_score": (0, 31)}


def _whole(key: str, value: Any) -> int:
    """A whole number in the key's range, or a ValueError that says what is expected."""
    low, high = _RANGES[key]
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise ValueError(f"{key} must be a whole number from {low} to {high}, not {value!r}")
    return number


@dataclass(slots=True)
class Hit:
    """One story in a result list, with the parts of its score and why it matched."""

    story_id: str
    title: str
    score: float  # the final ranking score
    source_record_id: str | None = None
    customer: str | None = None
    industry: str | None = None
    country: str | None = None
    year: int | None = None
    quality: int | None = None  # rubric total of 31
    shareability: str | None = None
    source_uri: str | None = None
    source_link: str | None = None
    parts: dict[str, float] = field(default_factory=dict)  # keyword, dense, fused, rerank, prior, fatigue ...
    why: str = ""
    passage: str | None = None  # the best-matching chunk, when a chunk matched
