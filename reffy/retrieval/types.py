"""Types shared by the retrievers, the search engine and the evaluation harness."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reffy.domain.story import StoryCard


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

    def matches(self, story: StoryCard) -> bool:
        """Whether ``story`` passes: the one definition of the filters' meaning, which the
        keyword mask, the explorer and the evaluation use, and the vector store's ``where``
        clause (reffy/retrieval/vector.py) is tested against."""
        if self.industry and story.industry not in self.industry:
            return False
        if self.country and story.country not in self.country:
            return False
        if self.product and not set(self.product) & set(story.products):
            return False
        if self.competitor and not set(self.competitor) & set(story.competitors):
            return False
        tags = set(story.tags)
        if self.tags_any and not set(self.tags_any) & tags:
            return False
        if self.tags_all and not set(self.tags_all) <= tags:
            return False
        year = story.year
        if self.year_min is not None and (year is None or year < self.year_min):
            return False
        if self.year_max is not None and (year is None or year > self.year_max):
            return False
        if self.min_score is not None and (story.score or 0) < self.min_score:
            return False
        if self.shareability and story.shareability != self.shareability:
            return False
        return not (self.audience and story.audience not in ("all", self.audience))


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
    """One story in a result list: the story's card, the final ranking score, the parts of that
    score and why it matched. The card's facts are readable on the hit itself (``hit.title``)."""

    story: StoryCard
    score: float  # the final ranking score
    parts: dict[str, float] = field(default_factory=dict)  # keyword, dense, fused, rerank, prior, fatigue ...
    why: str = ""
    passage: str | None = None  # the best-matching chunk, when a chunk matched

    @property
    def story_id(self) -> str:
        return self.story.story_id

    @property
    def title(self) -> str:
        return self.story.title

    @property
    def customer(self) -> str | None:
        return self.story.customer

    @property
    def industry(self) -> str | None:
        return self.story.industry

    @property
    def country(self) -> str | None:
        return self.story.country

    @property
    def year(self) -> int | None:
        return self.story.year

    @property
    def quality(self) -> int | None:
        """The story's rubric total of 31 (``score`` is the ranking score)."""
        return self.story.score

    @property
    def shareability(self) -> str:
        return self.story.shareability

    @property
    def source_uri(self) -> str | None:
        return self.story.source_uri

    @property
    def source_link(self) -> str | None:
        return self.story.source_link

    @property
    def source_record_id(self) -> str | None:
        return self.story.source_record_id

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of a hit (CLI ``--json``, API, MCP, stored answers)."""
        return {
            "story_id": self.story_id,
            "title": self.title,
            "score": self.score,
            "source_record_id": self.source_record_id,
            "customer": self.customer,
            "industry": self.industry,
            "country": self.country,
            "year": self.year,
            "quality": self.quality,
            "shareability": self.shareability,
            "source_uri": self.source_uri,
            "source_link": self.source_link,
            "parts": dict(self.parts),
            "why": self.why,
            "passage": self.passage,
        }
