"""A learned ranking stage: LambdaMART over the features hybrid search already computes.

Why: the fused ranking is weighted reciprocal-rank fusion with weights chosen on the dev set. A
ranker trained on the library's *own* synthetic queries (``eval/synthetic_queries.py``) could
weigh the same evidence - BM25 views, summary / introduction / passage similarities, quality -
per library, never seeing an evaluation label.

This module owns the :class:`Candidates` a hybrid search hands over (everything the retrievers
returned for one query), :func:`features` (one row per candidate story: the same function at
training and at search time, so the two cannot drift apart), :func:`train` and :func:`stage`, the
one call the engine makes. ``SearchEngine.ranker`` is None, so the stage returns the fused list
untouched: measured on the dev set, the validation set and by five-fold cross-validation
(``python eval/ranker.py judge``, eval/README.md, issue 14), no ranker trained on synthetic
queries beat stock fusion, so ``reffy tune`` does not train one and nothing loads one. The stage
stays because it is what lets ``eval/ranker.py`` cache exactly what search saw (its replay matches
the engine's top 10 on 40 of 40 dev queries) for the next attempt. LightGBM (the ``ranker``
extra) is imported only by :func:`train`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reffy.domain.story import StoryCard

RANKER_VERSION = 1
DEPTH = 50  # fused candidates a learned ranker reorders; the rest keep their fused order

FEATURES = (
    "fused",  # the stock RRF score
    "fused_rank",  # log2(1 + rank) in the fused list
    "kw",  # BM25 (full text) / the query's best BM25
    "kw_rank",
    "profile",  # BM25 (title, customer, facts view) / the query's best
    "profile_rank",
    "summary",  # cosine of the story summary
    "summary_gap",  # best summary cosine of the query minus this one
    "summary_rank",
    "intro",
    "intro_gap",
    "intro_rank",
    "chunk",  # best passage cosine
    "chunk_gap",
    "chunk_rank",
    "chunk_count",  # passages of the story among the chunk candidates
    "quality",
    "q_terms",  # query length in index terms
    "q_top_chunk",  # query-level: how close the best passage of any story is
)
_MISSING_RANK = math.log2(1 + 1000)


@dataclass(slots=True)
class Candidates:
    """What one hybrid search's retrievers returned (before priors, diversity and re-ranking)."""

    query: str
    fused: list[tuple[str, float]]
    keyword: list[tuple[str, float]]
    profile: list[tuple[str, float]]
    summary: dict[str, float]
    intro: dict[str, float]
    chunk: dict[str, float]  # best passage per story
    chunk_count: dict[str, int] = field(default_factory=dict)


def _ranks(scores: Mapping[str, float]) -> dict[str, float]:
    order = sorted(scores, key=lambda d: (-scores[d], d))
    return {d: math.log2(2 + i) for i, d in enumerate(order)}


def features(c: Candidates, docs: Mapping[str, StoryCard], depth: int = DEPTH) -> tuple[list[str], np.ndarray]:
    """(story ids, one row of :data:`FEATURES` per story) for the first ``depth`` fused candidates."""
    from reffy.retrieval.text import tokenize

    ids = [d for d, _ in c.fused[:depth]]
    query_terms = len(set(tokenize(c.query)))
    kw, prof = dict(c.keyword), dict(c.profile)
    kw_top, prof_top = max(kw.values(), default=0.0) or 1.0, max(prof.values(), default=0.0) or 1.0
    ranks = {name: _ranks(v) for name, v in (("kw", kw), ("profile", prof))}
    ranks |= {name: _ranks(getattr(c, name)) for name in ("summary", "intro", "chunk")}
    tops = {name: max(getattr(c, name).values(), default=0.0) for name in ("summary", "intro", "chunk")}
    rows = np.zeros((len(ids), len(FEATURES)), dtype=np.float32)
    for i, (doc, score) in enumerate(c.fused[:depth]):
        row: list[float] = [score, math.log2(2 + i)]
        row += [kw.get(doc, 0.0) / kw_top, ranks["kw"].get(doc, _MISSING_RANK)]
        row += [prof.get(doc, 0.0) / prof_top, ranks["profile"].get(doc, _MISSING_RANK)]
        for name in ("summary", "intro", "chunk"):
            sims = getattr(c, name)
            sim = sims.get(doc)
            row += [
                np.nan if sim is None else sim,
                np.nan if sim is None else tops[name] - sim,
                ranks[name].get(doc, _MISSING_RANK),
            ]
        card = docs.get(doc)
        quality = card.score if card is not None else None
        row += [float(c.chunk_count.get(doc, 0)), np.nan if quality is None else float(quality)]
        row += [float(query_terms), tops["chunk"]]
        rows[i] = row
    return ids, rows


@dataclass(slots=True)
class LearnedRanker:
    """A trained LambdaMART booster and what it was trained on."""

    booster: Any
    depth: int = DEPTH
    facts: dict[str, Any] = field(default_factory=dict)

    def rerank(self, c: Candidates, docs: Mapping[str, StoryCard], rrf_k: int) -> list[tuple[str, float]]:
        """The fused list with its first ``depth`` stories in the ranker's order. Scores stay
        positive and rank-shaped (``1 / (rrf_k + rank)``, as fused scores are), so the priors,
        fatigue and diversity that follow work on them unchanged."""
        ids, rows = features(c, docs, self.depth)
        if not ids:
            return c.fused
        pred = self.booster.predict(rows)
        order = sorted(range(len(ids)), key=lambda i: (-float(pred[i]), i))
        head = [(ids[i], 1.0 / (rrf_k + r)) for r, i in enumerate(order, start=1)]
        tail = [(d, 1.0 / (rrf_k + r)) for r, (d, _) in enumerate(c.fused[self.depth :], start=len(head) + 1)]
        return head + tail


def stage(
    ranker: LearnedRanker | None, c: Candidates, docs: Mapping[str, StoryCard], rrf_k: int
) -> list[tuple[str, float]]:
    """The engine's learned-ranking stage: the fused list, reordered when a ranker is trained."""
    return c.fused if ranker is None else ranker.rerank(c, docs, rrf_k)


def train(
    groups: Sequence[tuple[np.ndarray, Sequence[int]]],
    *,
    trees: int = 200,
    leaves: int = 15,
    learning_rate: float = 0.05,
    min_data_in_leaf: int = 20,
    seed: int = 7,
    threads: int = 0,
) -> Any:
    """A LambdaMART booster (LightGBM ``lambdarank``) over (feature rows, graded labels) per query."""
    import lightgbm as lgb

    groups = [(x, y) for x, y in groups if len(y) and max(y) > 0]
    if not groups:
        raise ValueError("no training query has a relevant candidate")
    x = np.vstack([g[0] for g in groups])
    y = np.concatenate([np.asarray(g[1], dtype=np.int32) for g in groups])
    data = lgb.Dataset(x, y, group=[len(g[1]) for g in groups], feature_name=list(FEATURES), free_raw_data=True)
    params = {
        "objective": "lambdarank",
        "metric": "ndcg",
        "ndcg_eval_at": [10],
        "num_leaves": leaves,
        "learning_rate": learning_rate,
        "min_data_in_leaf": min_data_in_leaf,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambdarank_truncation_level": 20,
        "seed": seed,
        "deterministic": True,
        "verbosity": -1,
        "num_threads": threads,
    }
    return lgb.train(params, data, num_boost_round=trees)
