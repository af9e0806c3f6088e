"""The story as every part of Reffy sees it: one frozen type per shape, made once from a gold row.

A gold story used to travel as ``dict[str, Any]`` from ``docs.json`` through the engine, the
service, the answer context, the UI and the API, and each of them re-declared the keys it
expected. :class:`StoryCard` is what a result list shows (facts, outcomes, quotes; no full
text) and what filters match against; :class:`StoryDetail` adds the story page's text, rubric
evidence and the internal annotations. Both are made by :meth:`StoryCard.from_row` from a gold
row (``docs.json`` or the warehouse), so a key renamed in gold fails here, in one place.

What each audience may see is decided here too (:meth:`StoryCard.for_audience`): the external
audience gets the story as published, by allow-list, so a field added later stays internal
until it is listed in :data:`EXTERNAL_FIELDS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Self

PUBLIC = "public"
INTERNAL = "internal"
EXTERNAL = "external"

# What an external reader may see of a story card or page.
EXTERNAL_FIELDS = frozenset(
    {
        "story_id",
        "title",
        "customer",
        "industry",
        "industry_name",
        "country",
        "country_name",
        "year",
        "score",
        "max_score",
        "shareability",
        "source_type",
        "source_link",
        "products",
        "competitors",
        "tags",
        "summary",
        "outcomes",
        "quotes",
        "text",
        "criteria",
    }
)
# Internal annotations a story page carries; for the external audience they are empty.
ANNOTATIONS = ("duplicates", "versions", "overrides")


@dataclass(frozen=True, slots=True)
class Quote:
    """A customer's words as the story prints them, with who said it when the source says."""

    text: str
    speaker: str | None = None
    role: str | None = None

    @classmethod
    def from_row(cls, raw: Mapping[str, Any] | str) -> Quote:
        if isinstance(raw, str):
            return cls(text=raw)
        return cls(text=str(raw.get("text") or ""), speaker=raw.get("speaker"), role=raw.get("role"))

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "speaker": self.speaker, "role": self.role}


@dataclass(frozen=True, slots=True)
class Criterion:
    """One rubric point of a story page: what it is, the points given and the evidence for them.
    ``withdrawn`` (a scorer's claim the evidence check refused) and ``overridden`` (an analyst's
    correction) are internal annotations."""

    id: str | None
    name: str | None = None
    dimension: str | None = None
    dimension_name: str = ""
    points: int | None = None
    max_points: int | None = None
    evidence: str | None = None
    withdrawn: bool = False
    overridden: bool = False

    def to_dict(self, audience: str = INTERNAL) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if audience == EXTERNAL:
            del out["withdrawn"], out["overridden"]
        return out


@dataclass(frozen=True, slots=True)
class StoryCard:
    """One gold story as a result list shows it. Lists are tuples so a card can be shared by
    every request of a running server without one of them changing it for the others."""

    story_id: str
    title: str
    customer: str | None = None
    industry: str | None = None
    industry_name: str | None = None
    industry_label: str | None = None
    country: str | None = None
    country_name: str | None = None
    year: int | None = None
    score: int | None = None  # rubric total of 31
    shareability: str = INTERNAL
    audience: str = "all"  # "all", or the one audience this copy of a duplicate group is shown to
    source_type: str | None = None
    source_uri: str | None = None  # internal: where the file sits on the server
    source_link: str | None = None  # the public way to the story, when it has one
    source_record_id: str | None = None  # internal: the source's own record id
    record_key: str | None = None  # internal: the bronze record this story was built from
    products: tuple[str, ...] = ()
    competitors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    summary: str | None = None
    outcomes: tuple[str, ...] = ()
    quotes: tuple[Quote, ...] = ()
    # Which fields this copy carries: every field for the internal audience, EXTERNAL_FIELDS for
    # the external one (set by for_audience; to_dict leaves the others out).
    view: str = field(default=INTERNAL, compare=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        """From a gold row (``docs.json``, the warehouse, a stored hit): unknown keys are ignored
        (a newer gold may carry more), lists become tuples, quotes become :class:`Quote`.
        A card of this class is returned as it is."""
        if isinstance(row, cls):
            return row
        known = {f.name for f in fields(cls)} - {"view"}
        values: dict[str, Any] = {k: v for k, v in row.items() if k in known}
        for key in ("products", "competitors", "tags"):
            values[key] = tuple(str(v) for v in values.get(key) or ())
        # an outcome is a sentence; older extractors stored some as {"text": ...}
        values["outcomes"] = tuple(
            str(o.get("text") or "") if isinstance(o, Mapping) else str(o) for o in values.get("outcomes") or ()
        )
        values["quotes"] = tuple(Quote.from_row(q) for q in values.get("quotes") or ())
        if "criteria" in values:
            raw = values["criteria"] or ()
            values["criteria"] = tuple(c if isinstance(c, Criterion) else Criterion(**c) for c in raw)
        for key in ("duplicates", "versions", "overrides"):
            if key in values:
                values[key] = tuple(values[key] or ())
        values["shareability"] = values.get("shareability") or INTERNAL
        values["audience"] = values.get("audience") or "all"
        return cls(**values)

    @property
    def is_public(self) -> bool:
        return self.shareability == PUBLIC

    def visible_to(self, audience: str) -> bool:
        """Whether a reader of ``audience`` may see this story at all: the internal audience sees
        every story, the external one only public stories."""
        return audience != EXTERNAL or self.is_public

    def for_audience(self, audience: str) -> Self:
        """This story as ``audience`` may see it: for the external audience, every field outside
        :data:`EXTERNAL_FIELDS` back at its default (no server path, record id or annotation)."""
        if audience != EXTERNAL:
            return self
        hidden = {
            f.name: _default(f) for f in fields(self) if f.name not in EXTERNAL_FIELDS and f.name not in ("view",)
        }
        return replace(self, **hidden, view=EXTERNAL)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (CLI ``--json``, API, MCP, history): lists, not tuples; an external copy
        carries only the fields the external audience may see, annotations as empty lists."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "view":
                continue
            if self.view == EXTERNAL and f.name not in EXTERNAL_FIELDS:
                if f.name in ANNOTATIONS:
                    out[f.name] = []
                continue
            out[f.name] = _plain(getattr(self, f.name), self.view)
        return out


@dataclass(frozen=True, slots=True)
class StoryDetail(StoryCard):
    """A story page: the card, the full text, the rubric evidence and, for the internal
    audience only, its duplicates, version history and analysts' overrides."""

    text: str = ""
    criteria: tuple[Criterion, ...] = ()
    max_score: int | None = None
    duplicates: tuple[dict[str, Any], ...] = ()
    versions: tuple[dict[str, Any], ...] = ()
    overrides: tuple[dict[str, Any], ...] = ()

    def for_audience(self, audience: str) -> Self:
        """As :meth:`StoryCard.for_audience`, and the rubric points without the internal flags
        (a withdrawn claim, an analyst's change)."""
        out = StoryCard.for_audience(self, audience)
        if audience != EXTERNAL:
            return out
        return replace(out, criteria=tuple(replace(c, withdrawn=False, overridden=False) for c in self.criteria))

    @classmethod
    def of(cls, card: StoryCard, **page: Any) -> StoryDetail:
        """The page of ``card``: its facts, plus the page's own fields (``text``, ``criteria``...)."""
        return cls(**{f.name: getattr(card, f.name) for f in fields(StoryCard) if f.name != "view"}, **page)


def cards_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[StoryCard]:
    return [StoryCard.from_row(r) for r in rows]


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _plain(value: Any, view: str) -> Any:
    if isinstance(value, Criterion):
        return value.to_dict(view)
    if isinstance(value, Quote):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_plain(v, view) for v in value]
    return value
