"""Library and usage analytics as pure functions over story cards and usage statistics.

The questions analysts ask: which references are overused, where do requests find no strong
story (content gaps), and where is the library thin (industry x country coverage).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from reffy.domain.story import StoryCard

STRONG_SCORE = 20  # of 31: what analytics counts as a strong reference
OVERUSE_FACTOR = 3.0  # a story holding this many times its fair share of recommendations
OVERUSE_MIN = 3


def overused(most_cited: list[dict[str, Any]], library_size: int) -> list[dict[str, Any]]:
    """Stories recommended at least OVERUSE_FACTOR times their fair share (and OVERUSE_MIN times)."""
    total = sum(r["n"] for r in most_cited) or 1
    fair = total / max(library_size, 1)
    return [r for r in most_cited if r["n"] >= max(OVERUSE_MIN, OVERUSE_FACTOR * fair)]


def strong_by_facet(docs: Iterable[StoryCard], min_score: int = STRONG_SCORE) -> Counter[tuple[str, str]]:
    """{(facet, value): number of strong stories} for industry, country, product and competitor."""
    counts: Counter[tuple[str, str]] = Counter()
    for doc in docs:
        if (doc.score or 0) < min_score:
            continue
        for facet, values in (
            ("industry", (doc.industry,)),
            ("country", (doc.country,)),
            ("product", doc.products),
            ("competitor", doc.competitors),
        ):
            counts.update((facet, v) for v in values if v)
    return counts


def content_gaps(requested: list[dict[str, Any]], strong: Mapping[tuple[str, str], int]) -> list[dict[str, Any]]:
    """Facet values people asked for beside the strong stories that serve them, worst gap first."""
    rows = [
        {
            "facet": r["facet"],
            "value": r["value"],
            "requested": r["n"],
            "strong_stories": strong.get((r["facet"], r["value"]), 0),
        }
        for r in requested
    ]
    return sorted(rows, key=lambda r: (r["strong_stories"] - r["requested"], r["facet"], str(r["value"])))


def coverage(rows: Iterable[StoryCard], min_score: int = STRONG_SCORE) -> list[dict[str, Any]]:
    """Counts of strong stories per (industry, country); unknown values are counted as such."""
    counts = Counter((r.industry or "unknown", r.country or "unknown") for r in rows if (r.score or 0) >= min_score)
    return [{"industry": i, "country": c, "strong": n} for (i, c), n in sorted(counts.items())]
