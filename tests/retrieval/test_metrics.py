"""Ranking metrics against tables computed by hand (log2(2)=1, log2(3)=1.5849625,
log2(4)=2, log2(5)=2.3219281, log2(6)=2.5849625, log2(7)=2.8073549)."""

from __future__ import annotations

import pytest

from reffy.retrieval.metrics import dcg_at_k, mean, mrr, ndcg_at_k, percentile, precision_recall, recall_at_k

# Ranking a b c d e with grades [2, 0, 1, 0, 2]; "m" (grade 1) is relevant but never retrieved.
RANKED = ["a", "b", "c", "d", "e"]
REL = {"a": 2, "c": 1, "e": 2, "m": 1}
# DCG@5  = 2/1 + 0 + 1/2 + 0 + 2/2.5849625            = 3.2737056
# IDCG   = 2/1 + 2/1.5849625 + 1/2 + 1/2.3219281 (grades 2,2,1,1) = 4.1925361
# DCG@3  = 2.5;  IDCG@3 = 2 + 1.2618595 + 0.5        = 3.7618595


def test_dcg_hand_table() -> None:
    assert dcg_at_k([2, 0, 1, 0, 2], 5) == pytest.approx(3.2737056)
    assert dcg_at_k([2, 0, 1, 0, 2], 3) == pytest.approx(2.5)
    assert dcg_at_k([2, 0, 1, 0, 2], None) == pytest.approx(3.2737056)
    assert dcg_at_k([], 10) == 0.0
    # the textbook example (Wikipedia "Discounted cumulative gain"): 6.861 with linear gains
    assert dcg_at_k([3, 2, 3, 0, 1, 2], 6) == pytest.approx(6.8611, abs=1e-4)


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (10, 3.2737056 / 4.1925361),  # 0.7808405: the missing "m" keeps it below 1
        (5, 3.2737056 / 4.1925361),
        (3, 2.5 / 3.7618595),  # 0.6645637
        (1, 1.0),  # a grade-2 item first is ideal at depth 1
    ],
)
def test_ndcg_graded_with_missing_item_and_cutoff(k: int, expected: float) -> None:
    assert ndcg_at_k(RANKED, REL, k) == pytest.approx(expected, abs=1e-6)


def test_ndcg_textbook_example() -> None:
    rel = {"d1": 3, "d2": 2, "d3": 3, "d4": 0, "d5": 1, "d6": 2}
    # IDCG from grades 3,3,2,2,1 = 3 + 1.8927893 + 1 + 0.8613531 + 0.3868528 = 7.1409952
    assert ndcg_at_k(["d1", "d2", "d3", "d4", "d5", "d6"], rel, 6) == pytest.approx(6.8611 / 7.1410, abs=1e-4)


def test_ndcg_edge_cases() -> None:
    assert ndcg_at_k([], REL) == 0.0
    assert ndcg_at_k(["x", "y"], REL) == 0.0
    assert ndcg_at_k(["a"], {}) is None  # no relevant items: undefined, left out of averages
    assert ndcg_at_k(["a"], {"a": 0}) is None
    assert ndcg_at_k(["a", "a", "a"], {"a": 2}) == 1.0  # repeats gain nothing
    assert ndcg_at_k(["e", "a", "c", "m"], REL) == pytest.approx(1.0)  # ideal order
    # a grade-1 item ahead of a grade-2 item: (1 + 2/1.5849625) / (2 + 1/1.5849625) = 2.2618595 / 2.6309298
    assert ndcg_at_k(["p", "x"], {"x": 2, "p": 1}) == pytest.approx(0.8597187)


def test_mrr() -> None:
    assert mrr(RANKED, REL) == 1.0
    assert mrr(["x", "y", "c"], REL) == pytest.approx(1 / 3)
    assert mrr(["x", "y", "c"], REL, k=2) == 0.0  # outside the cut-off
    assert mrr(["x", "c"], {"x": 0, "c": 1}) == 0.5  # grade 0 does not count
    assert mrr([], REL) == 0.0
    assert mrr(["a"], {}) is None


def test_recall() -> None:
    # relevant a, c, e, m: top 3 holds a, c; top 5 adds e; m is never retrieved
    assert recall_at_k(RANKED, REL, 3) == 0.5
    assert recall_at_k(RANKED, REL, 5) == 0.75
    assert recall_at_k(RANKED, REL, 50) == 0.75
    assert recall_at_k(RANKED, REL, 0) == 0.0
    assert recall_at_k(["a", "a"], {"a": 2, "b": 1}, 10) == 0.5  # duplicates count once
    assert recall_at_k(["a"], {"a": 0}, 10) is None


def test_precision_recall() -> None:
    # TP = 1 (first), predicted 2, actual 3
    p, r = precision_recall([True, False, False, False, True], [True, True, True, False, False])
    assert p == 0.5
    assert r == pytest.approx(1 / 3)
    assert precision_recall([True, True], [True, True]) == (1.0, 1.0)
    assert precision_recall([False, False], [True, False]) == (None, 0.0)  # nothing predicted
    assert precision_recall([True, False], [False, False]) == (0.0, None)  # nothing to find
    assert precision_recall([], []) == (None, None)
    with pytest.raises(ValueError, match="length"):
        precision_recall([True], [True, False])


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([1, 2, 3, 4], 50, 2.5),
        ([1, 2, 3, 4], 95, 3.85),  # rank 0.95*3 = 2.85 -> 3 + 0.85*(4-3)
        ([1, 2, 3, 4], 0, 1.0),
        ([1, 2, 3, 4], 100, 4.0),
        ([50, 15, 40, 20, 35], 40, 29.0),  # unsorted; rank 1.6 -> 20 + 0.6*(35-20)
        ([7.0], 95, 7.0),
        ([10, 20, 30, 40, 50, 60], 95, 57.5),  # rank 4.75 -> 50 + 0.75*10
    ],
)
def test_percentile_hand_table(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == pytest.approx(expected)


def test_percentile_matches_numpy_and_rejects_bad_input() -> None:
    np = pytest.importorskip("numpy")
    values = [3.1, 0.2, 9.9, 4.4, 4.4, 7.0, 1.5]
    for p in (0, 5, 25, 50, 90, 95, 99, 100):
        assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)))
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_mean_skips_undefined() -> None:
    assert mean([1.0, None, 0.0]) == 0.5
    assert mean([None]) is None
    assert mean([]) is None
