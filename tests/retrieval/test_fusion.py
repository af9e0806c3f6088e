"""Ranking maths against hand-computed tables."""

from __future__ import annotations

import math

import pytest

from reffy.retrieval.fusion import (
    aggregate,
    diversify,
    fatigue,
    freshness,
    minmax,
    quality_prior,
    rrf,
    standout,
    weighted_fusion,
)


def test_rrf_matches_the_hand_computed_table():
    # a: 1/61 + 1/62 ; b: 1/62 + 1/61 ; c: 1/63 ; d: 1/63
    fused = dict(rrf([["a", "b", "c"], ["b", "a", "d"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["c"] == pytest.approx(1 / 63) and fused["d"] == pytest.approx(1 / 63)
    assert [d for d, _ in rrf([["a", "b", "c"], ["b", "a", "d"]], k=60)] == ["a", "b", "c", "d"]  # ties by id


def test_weighted_rrf():
    fused = dict(rrf([["a"], ["b"]], k=0, weights=[2.0, 1.0]))
    assert fused == {"a": 2.0, "b": 1.0}


def test_minmax_and_weighted_fusion():
    assert minmax({"a": 2, "b": 4, "c": 3}) == {"a": 0.0, "b": 1.0, "c": 0.5}
    assert minmax({"a": 5, "b": 5}) == {"a": 1.0, "b": 1.0}
    fused = dict(weighted_fusion([{"a": 10, "b": 0, "c": 5}, {"b": 0.9, "c": 0.1}], [0.7, 0.3]))
    # a: .7*1 + 0 = .7 ; b: .7*0 + .3*1 = .3 ; c: .7*.5 + .3*0 = .35
    assert fused == pytest.approx({"a": 0.7, "b": 0.3, "c": 0.35})


def test_aggregate_chunks_to_stories():
    hits = [("s1:c0", 0.9), ("s2:c3", 0.8), ("s1:c4", 0.5), ("s1:c2", 0.3)]
    owner = lambda h: h.split(":")[0]  # noqa: E731
    assert aggregate(hits, owner) == [("s1", 0.9), ("s2", 0.8)]
    assert dict(aggregate(hits, owner, decay=0.1)) == pytest.approx({"s1": 0.9 + 0.1 * (0.5 + 0.3), "s2": 0.8})


def test_quality_prior_is_neutral_at_midpoint_and_for_unknown():
    assert quality_prior(1.0, 15.5, 0.4) == pytest.approx(1.0)
    assert quality_prior(1.0, 31, 0.4) == pytest.approx(1.2)
    assert quality_prior(1.0, 0, 0.4) == pytest.approx(0.8)
    assert quality_prior(1.0, None, 0.4) == 1.0


def test_fatigue_and_freshness():
    assert fatigue(1.0, 0, 0.5) == 1.0
    assert fatigue(1.0, 10, 0.5) == pytest.approx(1 / (1 + 0.5 * math.log(11)))
    assert fatigue(1.0, 10, 0.0) == 1.0
    assert freshness(1.0, 0, 0.3) == pytest.approx(1.3)
    assert freshness(1.0, 9, 0.3) == pytest.approx(1.03)


def test_diversify_penalises_repeats_of_a_company():
    ranked = [("a1", 1.0), ("a2", 0.9), ("b1", 0.8), ("a3", 0.7), ("x", 0.1)]
    company = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "x": None}.get
    assert diversify(ranked, company, penalty=0.5) == [
        ("a1", 1.0),
        ("b1", 0.8),
        ("a2", 0.45),
        ("a3", 0.175),
        ("x", 0.1),
    ]
    assert [d for d, _ in diversify(ranked, company, penalty=1.0, max_per_group=1)] == ["a1", "b1", "x"]


def test_diversify_lets_the_first_items_of_a_group_rank_freely():
    ranked = [("a1", 1.0), ("a2", 0.9), ("a3", 0.8), ("b1", 0.5)]
    company = {"a1": "A", "a2": "A", "a3": "A", "b1": "B"}.get
    assert diversify(ranked, company, penalty=0.5, free=2) == [("a1", 1.0), ("a2", 0.9), ("b1", 0.5), ("a3", 0.4)]


def test_standout_is_the_gap_from_the_best_to_the_nth_best():
    assert standout([0.5, 0.9, 0.7, 0.6], n=3) == pytest.approx(0.9 - 0.6)
    assert standout([0.5, 0.9], n=10) == pytest.approx(0.4)  # fewer than n: the last one
    assert standout({"a": 0.9}.values()) == 0.0 and standout([]) == 0.0
    flat = [0.48, 0.47, 0.47, 0.46, 0.46, 0.45, 0.45, 0.44, 0.43, 0.42]
    assert standout([0.62, *flat[1:]]) > standout(flat)
