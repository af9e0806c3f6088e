"""Stories: one story's card and detail, the explorer's table and the filter values present,
each for the caller's audience (a prefix or id never reveals a story outside it)."""

from __future__ import annotations

from typing import Any

from reffy.auth import LOCAL_USER, User
from reffy.service.base import ServiceBase
from reffy.views import story_view


class StoryOps(ServiceBase):
    def _visible(self, doc: dict[str, Any], audience: str) -> bool:
        return audience == "internal" or doc.get("shareability") == "public"

    def _story_doc(self, ref: str, audience: str) -> dict[str, Any]:
        """The gold story ``ref`` names for this audience: its whole id, or an unambiguous prefix
        (the CLI prints 12 characters). Only the stories the audience may see are candidates, so
        neither a prefix nor a whole id tells an external caller that an internal story exists."""
        from reffy.ids import resolve_prefix

        engine = self.engine
        doc = engine.by_id.get(ref)
        if doc is not None and self._visible(doc, audience):
            return doc  # the common case (cards of a result list): one dictionary lookup
        visible = [d["story_id"] for d in engine.docs if self._visible(d, audience)]
        story_id = resolve_prefix(
            ref, visible, label=lambda i: str(engine.by_id[i].get("title") or ""), scope=f"for the {audience} audience"
        )
        return engine.by_id[story_id]

    def resolve_story_id(self, ref: str, *, user: User = LOCAL_USER, audience: str | None = None) -> str:
        """The full id of the story ``ref`` (a story id or an unambiguous prefix of one) names
        for this caller. Ambiguous prefixes raise ``AmbiguousId`` listing the candidates (all
        within the caller's audience); unknown ones ``NotFound`` saying how to find ids."""
        user.require("read_story")
        return self._story_doc(ref, self.audience_for(user, audience))["story_id"]

    def card(self, story_id: str, *, user: User = LOCAL_USER, audience: str | None = None) -> dict[str, Any]:
        """One gold story's card (facts, outcomes, quotes; no full text): what a result list shows.
        A lookup in the loaded index, no warehouse or docstore round trip. ``story_id`` may be
        shortened to any unambiguous prefix (see :meth:`resolve_story_id`)."""
        user.require("read_story")
        audience = self.audience_for(user, audience)
        return story_view(dict(self._story_doc(story_id, audience)), audience)

    def story(self, story_id: str, *, user: User = LOCAL_USER, audience: str | None = None) -> dict[str, Any]:
        """Everything about one gold story: card, text, rubric evidence, duplicates, versions and
        overrides - the last three (and anything else internal) only for the internal audience."""
        user.require("read_story")
        audience = self.audience_for(user, audience)
        doc = self._story_doc(story_id, audience)
        story_id = doc["story_id"]
        engine = self.engine
        stored = engine.docstore.get(doc["story_id"]) or {"text": "", "breakdown": []}
        setup_rubric, _ = self._scoring_setup()
        dims = {c.id: c.dimension for c in setup_rubric.criteria}
        names = {c.id: c.label for c in setup_rubric.criteria}
        dim_names = {d.id: d.name for d in setup_rubric.dimensions}
        criteria = [
            {
                "id": c.get("criterion_id"),
                "name": names.get(c.get("criterion_id"), c.get("criterion_id")),
                "dimension": dims.get(c.get("criterion_id")),
                "dimension_name": dim_names.get(dims.get(c.get("criterion_id"), ""), ""),
                "points": c.get("points"),
                "max_points": c.get("max_points"),
                "evidence": c.get("evidence"),
                "withdrawn": bool(c.get("claimed_points")) and (c.get("claimed_points") or 0) > (c.get("points") or 0),
                "overridden": bool(c.get("overridden")),
            }
            for c in stored["breakdown"]
        ]
        detail = {
            **dict(doc.items()),
            "text": stored["text"],
            "criteria": criteria,
            "max_score": setup_rubric.total,
            "duplicates": [],
            "versions": [],
            "overrides": [],
        }
        if audience == "internal":  # the warehouse holds only internal annotations: not even asked
            detail.update(self._warehouse_detail(doc))
        return story_view(detail, audience)

    def _warehouse_detail(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Duplicates, versions and overrides from the warehouse; empty while an ingest holds its lock."""
        from reffy.errors import WarehouseError
        from reffy.store.stories import story_history

        try:
            return story_history(self.settings.db_path, doc["story_id"], doc.get("record_key"))
        except WarehouseError:
            return {}

    def stories(
        self, *, user: User = LOCAL_USER, audience: str | None = None, filters: Any = None, text: str | None = None
    ) -> list[dict[str, Any]]:
        """Gold stories for the explorer table, best first."""
        user.require("read_story")
        audience = self.audience_for(user, audience)
        parsed = self._filters(filters, audience)
        needle = (text or "").strip().lower()
        rows = []
        for doc in self.engine.docs:
            if not parsed.matches(doc):
                continue
            if (
                needle
                and needle not in " ".join(str(doc.get(k) or "") for k in ("title", "customer", "summary")).lower()
            ):
                continue
            rows.append(
                story_view(
                    {
                        k: doc.get(k)
                        for k in (
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
                    },
                    audience,
                )
            )
        return sorted(rows, key=lambda r: (-(r["score"] or 0), r["title"]))

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
            for key, field in (("industry", "industry"), ("country", "country"), ("year", "year")):
                if row.get(field) is not None:
                    out[key].add(row[field])
            out["product"].update(row.get("products") or [])
            out["competitor"].update(row.get("competitors") or [])
            out["tags"].update(row.get("tags") or [])
        return {key: sorted(values) for key, values in out.items()}

    def facet_names(self, *, user: User = LOCAL_USER, audience: str | None = None) -> dict[str, dict[str, str]]:
        """People's names for the filter values present: {"industry": {"finance": "Banking &
        financial services"}, "country": {"DK": "Denmark"}} (values with no known name are left out)."""
        names: dict[str, dict[str, str]] = {"industry": {}, "country": {}}
        for row in self.stories(user=user, audience=audience):
            for key in names:
                if row.get(key) and row.get(f"{key}_name"):
                    names[key][str(row[key])] = str(row[f"{key}_name"])
        return names
