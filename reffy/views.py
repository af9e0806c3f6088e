"""What each audience may see of a story: one projection, applied by the service to every
story it hands out (cards, story pages, explorer rows, search hits, the hits of an answer).

The internal audience sees everything the library knows. The external audience - a viewer
token, a prospect-facing chat - sees the story as published: its facts, text, scores and
evidence, and the public ``source_link`` if it has one; never the annotations around it:
where the file sits on the server (``source_uri``, ``file://`` or a local path), the source's
own record ids, its duplicate copies and version history, analysts' overrides (who changed
what, and why), or flags on the rubric points saying a scorer's claim was withdrawn or an
analyst changed it. Cards and pages are projected by *allow-list*, so a field added to gold
later stays internal until it is listed here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reffy.retrieval.types import Hit

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
EXTERNAL_CRITERION_FIELDS = frozenset({"id", "name", "dimension", "dimension_name", "points", "max_points", "evidence"})
# Internal annotations a story page carries; for the external audience they are empty.
ANNOTATIONS = ("duplicates", "versions", "overrides")


def story_view(story: dict[str, Any], audience: str) -> dict[str, Any]:
    """A story card or page as ``audience`` may see it (a new dict; ``story`` is not changed)."""
    if audience != "external":
        return dict(story)
    out = {k: v for k, v in story.items() if k in EXTERNAL_FIELDS}
    if "criteria" in out:
        out["criteria"] = [{k: v for k, v in c.items() if k in EXTERNAL_CRITERION_FIELDS} for c in out["criteria"]]
    for key in ANNOTATIONS:
        if key in story:
            out[key] = []
    return out


def hit_view(hit: Hit, audience: str) -> Hit:
    """A search hit as ``audience`` may see it: external hits carry no server path or source
    record id (their ``source_link`` is the way to the story)."""
    if audience != "external":
        return hit
    return replace(hit, source_uri=None, source_record_id=None)
