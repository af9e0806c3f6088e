"""What each audience may see of a story: one projection, applied by the service to every
story it hands out (cards, story pages, explorer rows, search hits, the hits of an answer).

The internal audience sees everything the library knows. The external audience - a viewer
token, a prospect-facing chat - sees the story as published: its facts, text, scores and
evidence, and the public ``source_link`` if it has one; never the annotations around it:
where the file sits on the server (``source_uri``, ``file://`` or a local path), the source's
own record ids, its duplicate copies and version history, analysts' overrides (who changed
what, and why), or flags on the rubric points saying a scorer's claim was withdrawn or an
analyst changed it. Cards and pages are projected by *allow-list*
(:meth:`reffy.domain.story.StoryCard.for_audience`), so a field added to gold later stays
internal until it is listed there; hits are projected here.
"""

from __future__ import annotations

from dataclasses import replace

from reffy.retrieval.types import Hit


def hit_view(hit: Hit, audience: str) -> Hit:
    """A search hit as ``audience`` may see it: external hits carry no server path or source
    record id (their ``source_link`` is the way to the story)."""
    if audience != "external":
        return hit
    return replace(hit, story=hit.story.for_audience(audience))
