"""Ranking metrics for the evaluation harness: pure functions, no IO.

Relevance labels are graded: 2 = exactly what was asked, 1 = partial / acceptable substitute,
unlisted (or 0) = not relevant.

Gain choice: nDCG uses **linear gains** (gain = grade, discount ``log2(i + 2)`` for 0-based rank
``i``), not the exponential ``2**grade - 1``. With only two grades the exponential form would
make an exact match worth 3x a partial one; linear (2x) matches how the labels were written
("an acceptable substitute is worth about half"), and keeps partial matches visible in topical
queries where most labels are 1.

The ideal DCG is built from the sorted grades of **all** labelled relevant items, not only the
retrieved ones, so a relevant story the engine never returned still costs score. A query with no
relevant items has no defined nDCG / MRR / recall: those functions return ``None`` and callers
leave the query out of averages (no-answer queries are scored by ``precision_recall`` instead).

A story id repeated in a ranking counts only at its first position (later copies gain nothing),
so an engine cannot inflate a score by returning the same story twice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["dcg_at_k", "mean", "mrr", "ndcg_at_k", "percentile", "precision_recall", "recall_at_k"]


def dcg_at_k(gains: Sequence[float], k: int | None) -> float:
    """Discounted cumulative gain of ``gains`` (in rank order) over the first ``k`` positions."""
    top = gains if k is None else gains[: max(k, 0)]
    return sum(g / math.log2(i + 2) for i, g in enumerate(top))


def _gains(ranked_ids: Sequence[str], relevance: dict[str, int]) -> list[int]:
    """Grade per rank position; repeated ids gain 0 after their first occurrence."""
    seen: set[str] = set()
    out: list[int] = []
    for doc in ranked_ids:
        out.append(0 if doc in seen else max(relevance.get(doc, 0), 0))
        seen.add(doc)
    return out


def _relevant(relevance: dict[str, int]) -> set[str]:
    return {doc for doc, grade in relevance.items() if grade >= 1}


def ndcg_at_k(ranked_ids: Sequence[str], relevance: dict[str, int], k: int = 10) -> float | None:
    """nDCG@k with linear gains; IDCG from all labelled grades. ``None`` if nothing is relevant."""
    ideal = sorted((g for g in relevance.values() if g > 0), reverse=True)
    idcg = dcg_at_k(ideal, k)
    if idcg <= 0:
        return None
    return dcg_at_k(_gains(ranked_ids, relevance), k) / idcg


def mrr(ranked_ids: Sequence[str], relevance: dict[str, int], k: int | None = None) -> float | None:
    """Reciprocal rank of the first item with grade >= 1 (within the top ``k`` if given);
    0.0 if none is retrieved, ``None`` if the query has no relevant items."""
    relevant = _relevant(relevance)
    if not relevant:
        return None
    top = ranked_ids if k is None else ranked_ids[: max(k, 0)]
    for i, doc in enumerate(top):
        if doc in relevant:
            return 1.0 / (i + 1)
    return 0.0


def recall_at_k(ranked_ids: Sequence[str], relevance: dict[str, int], k: int) -> float | None:
    """Share of the items with grade >= 1 that appear in the top ``k``; ``None`` if there are none."""
    relevant = _relevant(relevance)
    if not relevant:
        return None
    return len(relevant & set(ranked_ids[: max(k, 0)])) / len(relevant)


def precision_recall(predicted: Sequence[bool], actual: Sequence[bool]) -> tuple[float | None, float | None]:
    """Precision and recall of a binary detector (here: "this query has no answer").

    Precision is ``None`` when nothing was predicted, recall ``None`` when nothing is actually
    positive: an undefined ratio is reported as such rather than as a flattering 1.0 or a
    misleading 0.0."""
    if len(predicted) != len(actual):
        raise ValueError(f"predicted and actual differ in length: {len(predicted)} != {len(actual)}")
    tp = sum(1 for p, a in zip(predicted, actual) if p and a)
    n_pred = sum(1 for p in predicted if p)
    n_act = sum(1 for a in actual if a)
    return (tp / n_pred if n_pred else None, tp / n_act if n_act else None)


def percentile(values: Iterable[float], p: float) -> float:
    """The ``p``-th percentile (0..100) with linear interpolation between closest ranks,
    the same as ``numpy.percentile``'s default method."""
    data = sorted(values)
    if not data:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile p must be within 0..100, got {p}")
    rank = (len(data) - 1) * p / 100
    lo = math.floor(rank)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (rank - lo)


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values (``None`` ones are skipped); ``None`` if there are none."""
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None
