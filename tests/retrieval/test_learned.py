"""The learned-ranking stage (issue 14): the features a ranker sees, the stage leaving stock fusion
untouched without a ranker, and a real (tiny) LambdaMART ranker reordering a demo-library search
as its training taught it."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from reffy.domain.story import StoryCard
from reffy.retrieval import learned
from reffy.retrieval.learned import FEATURES, Candidates, LearnedRanker, features, stage
from reffy.service import ReffyService


def _candidates() -> Candidates:
    return Candidates(
        query="ticket triage",
        fused=[("a", 0.30), ("b", 0.20), ("c", 0.10)],
        keyword=[("b", 8.0), ("a", 4.0)],
        profile=[("a", 2.0)],
        summary={"a": 0.5, "c": 0.7},
        intro={"b": 0.6},
        chunk={"a": 0.4, "b": 0.3, "c": 0.2},
        chunk_count={"a": 2, "c": 1},
    )


def test_features_are_relative_to_the_query_and_mark_what_a_retriever_missed():
    ids, x = features(_candidates(), {"a": StoryCard("a", "", score=20), "b": StoryCard("b", "")})
    assert ids == ["a", "b", "c"]
    assert x.shape == (3, len(FEATURES))
    col = {name: x[:, i] for i, name in enumerate(FEATURES)}
    assert col["kw"].tolist() == pytest.approx([0.5, 1.0, 0.0])  # BM25 over the query's best
    assert col["kw_rank"][1] < col["kw_rank"][0] < col["kw_rank"][2]  # c was not retrieved: worst rank
    assert math.isnan(col["summary"][1]) and col["summary_gap"][0] == pytest.approx(0.2)
    assert col["chunk_count"].tolist() == [2.0, 0.0, 1.0]
    assert col["quality"][0] == 20 and math.isnan(col["quality"][1])
    assert (col["q_terms"] == 2).all() and col["q_top_chunk"][0] == pytest.approx(0.4)
    assert (np.diff(col["fused_rank"]) > 0).all()


def test_without_a_ranker_the_stage_is_stock_fusion():
    c = _candidates()
    assert stage(None, c, {}, 10) is c.fused


def _intro_ranker() -> LearnedRanker:
    """A LambdaMART ranker trained on groups whose relevant candidates are those whose story
    introduction is closest in meaning (graded by that closeness), whatever the fused order says."""
    rng = random.Random(3)
    groups = []
    for _ in range(120):
        n = 12
        x = np.zeros((n, len(FEATURES)), dtype=np.float32)
        x[:, FEATURES.index("fused")] = sorted((rng.random() for _ in range(n)), reverse=True)
        x[:, FEATURES.index("fused_rank")] = [math.log2(2 + i) for i in range(n)]
        intro = [rng.random() for _ in range(n)]
        x[:, FEATURES.index("intro")] = intro
        labels = [0] * n
        for rank, i in enumerate(np.argsort(intro)[::-1][:6]):
            labels[int(i)] = 3 if rank == 0 else 2 if rank < 3 else 1
        groups.append((x, labels))
    return LearnedRanker(learned.train(groups, trees=40, leaves=7, min_data_in_leaf=5, threads=1))


def test_a_trained_ranker_reorders_a_search_by_what_it_learned(demo_settings):
    pytest.importorskip("lightgbm")
    svc = ReffyService(demo_settings)
    engine = svc.engine
    query = "cutting call handling time in the contact centre"
    seen: list[Candidates] = []
    original = learned.stage

    def record(ranker, c, docs, rrf_k):
        seen.append(c)
        return original(ranker, c, docs, rrf_k)

    learned.stage = record
    try:
        stock = engine.search(query, k=5, mode="hybrid")
        engine.ranker = _intro_ranker()
        tuned = engine.search(query, k=5, mode="hybrid")
    finally:
        learned.stage = original
        engine.ranker = None
        svc.close()
    c = seen[0]
    intro = {d: c.intro.get(d, 0.0) for d, _ in c.fused[: learned.DEPTH]}

    def closeness(hits) -> float:
        return sum(intro.get(h.story_id, 0.0) for h in hits) / len(hits)

    assert stock.hits[0].story_id == c.fused[0][0]  # stock: fusion's own first
    assert [h.story_id for h in stock.hits] != [h.story_id for h in tuned.hits]
    # the ranker promotes what its features say it prefers: introductions closer in meaning
    assert intro[tuned.hits[0].story_id] > intro[stock.hits[0].story_id]
    assert closeness(tuned.hits) > closeness(stock.hits)
    assert intro[tuned.hits[0].story_id] >= sorted(intro.values(), reverse=True)[2]  # one of the closest three
