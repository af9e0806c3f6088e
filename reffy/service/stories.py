"""Stories: one story's card and detail, the explorer's table and the filter values present,
each for the caller's audience (a prefix or id never reveals a story outside it)."""

from __future__ import annotations

from typing import Any

from reffy.auth import LOCAL_USER, User
from reffy.domain.story import Criterion, StoryCard, StoryDetail
from reffy.service.base import ServiceBase

# The explorer table's columns (and the score table's): a card without its long texts.
TABLE_FIELDS = (
    "story_id",
    "title",
    "customer",
    "industry",
    "industry_name",
    "country",
    "country_name",
    "year",
    "score",
    "shareability",
    "source_type",
    "products",
    "competitors",
    "tags",
    "source_link",
    "source_record_id",
)


def table_row(card: StoryCard) -> dict[str, Any]:
    """One explorer/score-table row of a card (already projected for its audience)."""
    data = card.to_dict()
    return {k: data.get(k) for k in TABLE_FIELDS if k in data}


class StoryOps(ServiceBase):
    def _story_doc(self, ref: str, audience: str) -> StoryCard:
        """The gold story ``ref`` names for this audience: its whole id, or an unambiguous prefix
        (the CLI prints 12 characters). Only the stories the audience may see are candidates, so
        neither a prefix nor a whole id tells an external caller that an internal story exists."""
        from reffy.ids import resolve_prefix

        engine = self.engine
        doc = engine.by_id.get(ref)
        if doc is not None and doc.visible_to(audience):
            return doc  # the common case (cards of a result list): one dictionary lookup
        visible = [d.story_id for d in engine.docs if d.visible_to(audience)]
        story_id = resolve_prefix(
            ref, visible, label=lambda i: engine.by_id[i].title or "", scope=f"for the {audience} audience"
        )
        return engine.by_id[story_id]

    def resolve_story_id(self, ref: str, *, user: User = LOCAL_USER, audience: str | None = None) -> str:
        """The full id of the story ``ref`` (a story id or an unambiguous prefix of one) names
        for this caller. Ambiguous prefixes raise ``AmbiguousId`` listing the candidates (all
        within the caller's audience); unknown ones ``NotFound`` saying how to find ids."""
        user.require("read_story")
        return self._story_doc(ref, self.audience_for(user, audience)).story_id

    def card(self, story_id: str, *, user: User = LOCAL_USER, audience: str | None = None) -> StoryCard:
        """One gold story's card (facts, outcomes, quotes; no full text): what a result list shows.
        A lookup in the loaded index, no warehouse or docstore round trip. ``story_id`` may be
        shortened to any unambiguous prefix (see :meth:`resolve_story_id`)."""
        user.require("read_story")
        audience = self.audience_for(user, audience)
        return self._story_doc(story_id, audience).for_audience(audience)

    def story(self, story_id: str, *, user: User = LOCAL_USER, audience: str | None = None) -> StoryDetail:
        """Everything about one gold story: card, text, rubric evidence, duplicates, versions and
        overrides - the last three (and anything else internal) only for the internal audience."""
        user.require("read_story")
        audience = self.audience_for(user, audience)
        doc = self._story_doc(story_id, audience)
        stored = self.engine.docstore.get(doc.story_id) or {"text": "", "breakdown": []}
        setup_rubric, _ = self._scoring_setup()
        dims = {c.id: c.dimension for c in setup_rubric.criteria}
        names = {c.id: c.label for c in setup_rubric.criteria}
        dim_names = {d.id: d.name for d in setup_rubric.dimensions}
        criteria = tuple(
            Criterion(
                id=c.get("criterion_id"),
                name=names.get(c.get("criterion_id"), c.get("criterion_id")),
                dimension=dims.get(c.get("criterion_id")),
                dimension_name=dim_names.get(dims.get(c.get("criterion_id"), ""), ""),
                points=c.get("points"),
                max_points=c.get("max_points"),
                evidence=c.get("evidence"),
                withdrawn=bool(c.get("claimed_points")) and (c.get("claimed_points") or 0) > (c.get("points") or 0),
                overridden=bool(c.get("overridden")),
            )
            for c in stored["breakdown"]
        )
        annotations: dict[str, Any] = {}
        if audience == "internal":  # the warehouse holds only internal annotations: not even asked
            annotations = {k: tuple(v) for k, v in self._warehouse_detail(doc).items()}
        detail = StoryDetail.of(
            doc,
            text=stored["text"],
            criteria=criteria,
            max_score=setup_rubric.total,
            **annotations,
        )
        return detail.for_audience(audience)

    def _warehouse_detail(self, doc: StoryCard) -> dict[str, Any]:
        """Duplicates, versions and overrides from the warehouse; empty while an ingest holds its lock."""
        from reffy.errors import WarehouseError
        from reffy.store.stories import story_history

        try:
            return story_history(self.settings.db_path, doc.story_id, doc.record_key)
        except WarehouseError:
            return {}

    def stories(
        self, *, user: User = LOCAL_USER, audience: str | None = None, filters: Any = None, text: str | None = None
    ) -> list[StoryCard]:
        """Gold stories for the explorer table, best first (each projected for the audience)."""
        user.require("read_story")
        audience = self.audience_for(user, audience)
        parsed = self._filters(filters, audience)
        needle = (text or "").strip().lower()
        rows = []
        for doc in self.engine.docs:
            if not parsed.matches(doc):
                continue
            if needle and needle not in " ".join(v or "" for v in (doc.title, doc.customer, doc.summary)).lower():
                continue
            rows.append(doc.for_audience(audience))
        return sorted(rows, key=lambda r: (-(r.score or 0), r.title))

    def facets(self, *, user: User = LOCAL_USER, audience: str | None = None) -> dict[str, list[Any]]:
        """The filter values present in the library (for filter widgets)."""
        rows = self.stories(user=user, audience=audience)
        out: dict[str, set[Any]] = {
            "industry": set(),
            "country": set(),
            "product": set(),
            "competitor": set(),
            "year": set(),
            "tags": set(),
        }
        for row in rows:
            for key, value in (("industry", row.industry), ("country", row.country), ("year", row.year)):
                if value is not None:
                    out[key].add(value)
            out["product"].update(row.products)
            out["competitor"].update(row.competitors)
            out["tags"].update(row.tags)
        return {key: sorted(values) for key, values in out.items()}

    def facet_names(self, *, user: User = LOCAL_USER, audience: str | None = None) -> dict[str, dict[str, str]]:
        """People's names for the filter values present: {"industry": {"finance": "Banking &
        financial services"}, "country": {"DK": "Denmark"}} (values with no known name are left out)."""
        names: dict[str, dict[str, str]] = {"industry": {}, "country": {}}
        for row in self.stories(user=user, audience=audience):
            if row.industry and row.industry_name:
                names["industry"][row.industry] = row.industry_name
            if row.country and row.country_name:
                names["country"][row.country] = row.country_name
        return names
