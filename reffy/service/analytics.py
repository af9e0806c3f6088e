"""Analytics for analysts: usage, most-cited and overused stories, content gaps, the score
table and coverage by industry and country."""

from __future__ import annotations

from typing import Any

from reffy.auth import User
from reffy.service.stories import StoryOps, table_row


class AnalyticsOps(StoryOps):
    def usage(self, user: User, *, days: int = 30) -> dict[str, Any]:
        """Usage analytics, with story titles, overused references and content gaps."""
        from reffy import analytics

        user.require("analytics")
        stats = self.history.usage_stats(days)
        by_id = self.engine.by_id
        for row in stats.get("most_cited", []):
            card = by_id.get(row["story_id"])
            row["title"] = card.title if card is not None else None
        stats["overused"] = analytics.overused(stats.get("most_cited", []), len(by_id))
        once = [d for d in self.engine.docs if d.audience != "external"]  # each duplicate group once
        stats["content_gaps"] = analytics.content_gaps(
            stats.get("requested_facets", []), analytics.strong_by_facet(once)
        )
        return stats

    def score_table(self, user: User) -> list[dict[str, Any]]:
        user.require("analytics")
        return [table_row(card) for card in self.stories(user=user, audience="internal")]

    def coverage(self, user: User, *, min_score: int | None = None) -> list[dict[str, Any]]:
        """Counts of strong stories per (industry, country)."""
        from reffy import analytics

        user.require("analytics")
        rows = self.stories(user=user, audience="internal")
        names: dict[tuple[str, str | None], str] = {}
        for r in rows:
            if r.industry_name:
                names[("industry", r.industry)] = r.industry_name
            if r.country_name:
                names[("country", r.country)] = r.country_name
        cells = analytics.coverage(rows, analytics.STRONG_SCORE if min_score is None else min_score)
        for cell in cells:  # people's names beside the ids, for the chart
            for key in ("industry", "country"):
                if (key, cell[key]) in names:
                    cell[f"{key}_name"] = names[(key, cell[key])]
        return cells
