"""Ranking maths as pure functions over lists: fusion, chunk aggregation, priors,
diversity and usage fatigue. No IO, no models: each is tested against hand-computed tables.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence

Ranked = list[tuple[str, float]]


def rrf(rankings: Sequence[Sequence[str]], k: int = 60, weights: Sequence[float] | None = None) -> Ranked:
    """Reciprocal-rank fusion: score(d) = sum_i w_i / (k + rank_i(d)), ranks from 1."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = defaultdict(float)
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] += weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def minmax(scores: Mapping[str, float]) -> dict[str, float]:
    """Scale to [0, 1]; a constant list maps to 1.0 (every item equally good)."""
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi == lo:
        return dict.fromkeys(scores, 1.0)
    return {d: (s - lo) / (hi - lo) for d, s in scores.items()}


def weighted_fusion(score_lists: Sequence[Mapping[str, float]], weights: Sequence[float]) -> Ranked:
    """Convex combination of min-max normalised scores; a document missing from a list
    gets 0 from it."""
    fused: dict[str, float] = defaultdict(float)
    for scores, weight in zip(score_lists, weights, strict=True):
        for doc, s in minmax(scores).items():
            fused[doc] += weight * s
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def aggregate(hits: Sequence[tuple[str, float]], owner: Callable[[str], str], decay: float = 0.0) -> Ranked:
    """Passage hits to documents: the best passage counts fully, each further passage of the
    same document adds ``decay`` times its score (0 = max pooling)."""
    per_doc: dict[str, list[float]] = defaultdict(list)
    for hit_id, score in hits:
        per_doc[owner(hit_id)].append(score)
    out = {}
    for doc, scores in per_doc.items():
        scores.sort(reverse=True)
        out[doc] = scores[0] + decay * sum(scores[1:])
    return sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))


def standout(scores: Iterable[float], n: int = 10) -> float:
    """How far the best score stands above the ``n``-th best (the last one when there are
    fewer; 0.0 for fewer than two): a specific match stands out, near misses do not."""
    ranked = sorted(scores, reverse=True)
    if len(ranked) < 2:
        return 0.0
    return float(ranked[0] - ranked[min(n, len(ranked)) - 1])


def quality_prior(score: float, quality: float | None, weight: float, scale: float = 31.0) -> float:
    """Nudge by rubric quality: multiply by 1 + weight * (quality/scale - 0.5). Unknown = neutral."""
    if quality is None or weight == 0:
        return score
    return score * (1.0 + weight * (quality / scale - 0.5))


def fatigue(score: float, recent_uses: int, strength: float) -> float:
    """Usage-aware penalty against overused references: divide by 1 + strength * ln(1 + uses)."""
    if strength <= 0 or recent_uses <= 0:
        return score
    return score / (1.0 + strength * math.log1p(recent_uses))


def freshness(score: float, recent_uses: int, boost: float) -> float:
    """The "fresh" option: strong stories rarely shown rise. Multiply by 1 + boost / (1 + uses)."""
    if boost <= 0:
        return score
    return score * (1.0 + boost / (1.0 + recent_uses))


def diversify(
    ranked: Ranked,
    group: Callable[[str], Hashable | None],
    penalty: float = 0.5,
    max_per_group: int | None = None,
    free: int = 1,
) -> Ranked:
    """Keep one group (a company) from filling the page: the first ``free`` items of a group
    keep their score, the n-th after them (n from 1) is multiplied by ``penalty ** n``, and
    the list is re-sorted; with ``max_per_group`` further items of a group are dropped.
    Items with no group are exempt."""
    seen: dict[Hashable, int] = defaultdict(int)
    out = []
    for doc, score in ranked:
        g = group(doc)
        if g is None:
            out.append((doc, score))
            continue
        n = seen[g]
        seen[g] += 1
        if max_per_group is not None and n >= max_per_group:
            continue
        out.append((doc, score * penalty ** max(0, n - free + 1)))
    return sorted(out, key=lambda kv: (-kv[1], kv[0]))
