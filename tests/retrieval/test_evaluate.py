"""The evaluation harness over a tiny hand-made query set and a fake search engine."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from reffy.domain.story import StoryCard
from reffy.retrieval import evaluate
from reffy.retrieval.evaluate import compare, load_doc_meta, load_queries, run_eval
from reffy.retrieval.types import Hit, SearchFilters

FILLERS = [f"s-f{i}" for i in range(10)]

QUERIES: list[dict[str, Any]] = [
    {
        "id": "k1",
        "kind": "known_item",
        "query": "bakery that forecasts bread demand",
        "filters": {},
        "relevant": {"s-alpha": 2},
        "notes": "found at rank 2",
    },
    {
        "id": "k2",
        "kind": "known_item",
        "query": "shipping firm routing trucks",
        "filters": {},
        "relevant": {"s-beta": 2, "s-gamma": 1},
        "notes": "perfect, but wrongly flagged",
    },
    {
        "id": "t1",
        "kind": "topical",
        "query": "all stories about invoices",
        "filters": {},
        "relevant": {"s-a": 1, "s-b": 1, "s-c": 2, "s-d": 1},
        "notes": "",
    },
    {
        "id": "f1",
        "kind": "faceted",
        "query": "fraud detection at banks",
        "filters": {"industry": "finance", "year_min": 2024},
        "relevant": {"s-fin1": 2, "s-fin2": 1},
    },
    {"id": "n1", "kind": "no_answer", "query": "a volcano observatory", "filters": {}, "relevant": {}},
    {"id": "n2", "kind": "no_answer", "query": "an underwater hotel", "filters": {}, "relevant": {}},
]

# query text -> (ranking, no-answer flag)
ENGINE: dict[str, tuple[list[str], bool]] = {
    "bakery that forecasts bread demand": (["s-x", "s-alpha"], False),
    "shipping firm routing trucks": (["s-beta", "s-gamma"], True),
    "all stories about invoices": (["s-c", *FILLERS, "s-a", "s-b"], False),
    "fraud detection at banks": (["s-fin2", "s-tech", "s-fin1", "s-old", "s-nometa"], False),
    "a volcano observatory": (["s-x"], True),
    "an underwater hotel": (["s-y", "s-z"], False),
}

DOC_META = {
    "s-fin1": StoryCard("s-fin1", "", industry="finance", year=2024, tags=("fraud",)),
    "s-fin2": StoryCard("s-fin2", "", industry="finance", year=2025),
    "s-tech": StoryCard("s-tech", "", industry="tech", year=2025, tags=("fraud",)),  # wrong industry
    "s-old": StoryCard("s-old", "", industry="finance", year=2020),  # too old
}

# Hand-computed (log2(3) = 1.5849625, log2(4) = 2, log2(5) = 2.3219281):
K1_NDCG = (2 / 1.5849625) / 2  # 0.6309298: the only relevant item at rank 2
T1_NDCG = 2 / (2 + 1 / 1.5849625 + 1 / 2 + 1 / 2.3219281)  # 2 / 3.5616064 = 0.5615445
F1_NDCG = (1 + 2 / 2) / (2 + 1 / 1.5849625)  # 2 / 2.6309298 = 0.7601866


class Clock:
    """A fake perf_counter that the fake engine advances by 10, 20, 30 ... ms per call."""

    def __init__(self) -> None:
        self.now, self.calls = 0.0, 0

    def perf_counter(self) -> float:
        return self.now

    def search(self, text: str, filters: SearchFilters, k: int) -> SimpleNamespace:
        assert isinstance(filters, SearchFilters)
        self.calls += 1
        self.now += self.calls * 0.010
        ranked, flag = ENGINE[text]
        hits = [Hit(StoryCard(f"id-{s}", s, source_record_id=s), score=1.0) for s in ranked]
        return SimpleNamespace(hits=hits, no_answer=flag)


@pytest.fixture
def query_file(tmp_path: Path) -> Path:
    path = tmp_path / "queries.json"
    path.write_text(json.dumps(QUERIES), encoding="utf-8")
    return path


@pytest.fixture
def report(query_file: Path, monkeypatch: pytest.MonkeyPatch) -> evaluate.EvalReport:
    clock = Clock()
    monkeypatch.setattr(evaluate, "time", clock)
    return run_eval(load_queries(query_file), clock.search, doc_meta=DOC_META)


def test_load_queries(query_file: Path) -> None:
    qs = load_queries(query_file)
    assert [q.id for q in qs] == ["k1", "k2", "t1", "f1", "n1", "n2"]
    assert qs[3].filters == SearchFilters(industry=("finance",), year_min=2024)
    assert qs[0].filters.empty and qs[0].notes == "found at rank 2"
    assert qs[2].relevant == {"s-a": 1, "s-b": 1, "s-c": 2, "s-d": 1}
    assert [q.answerable for q in qs] == [True, True, True, True, False, False]


def test_per_query_scores(report: evaluate.EvalReport) -> None:
    by_id = {r.id: r for r in report.results}
    assert by_id["k1"].scores == pytest.approx({"ndcg@10": K1_NDCG, "mrr": 0.5, "recall@10": 1.0, "recall@50": 1.0})
    assert by_id["t1"].scores == pytest.approx({"ndcg@10": T1_NDCG, "mrr": 1.0, "recall@10": 0.25, "recall@50": 0.75})
    assert by_id["f1"].scores == pytest.approx({"ndcg@10": F1_NDCG, "mrr": 1.0, "recall@10": 1.0, "recall@50": 1.0})
    assert by_id["n1"].scores == {"ndcg@10": None, "mrr": None, "recall@10": None, "recall@50": None}
    assert [r.latency_ms for r in report.results] == pytest.approx([10, 20, 30, 40, 50, 60])
    assert by_id["k2"].flagged and by_id["n1"].flagged and not by_id["n2"].flagged


def test_aggregation_per_kind_and_overall(report: evaluate.EvalReport) -> None:
    rows = report.rows()
    assert list(rows) == ["known_item", "topical", "faceted", "no_answer", "overall"]
    assert rows["known_item"] == pytest.approx(
        {"ndcg@10": (K1_NDCG + 1.0) / 2, "mrr": 0.75, "recall@10": 1.0, "recall@50": 1.0, "n": 2}
    )
    assert rows["topical"]["n"] == 1 and rows["faceted"]["n"] == 1
    assert rows["no_answer"] == {"ndcg@10": None, "mrr": None, "recall@10": None, "recall@50": None, "n": 2}
    # overall: the 4 answerable queries, each weighted equally
    assert rows["overall"] == pytest.approx(
        {
            "ndcg@10": (K1_NDCG + 1.0 + T1_NDCG + F1_NDCG) / 4,
            "mrr": 0.875,
            "recall@10": 0.8125,
            "recall@50": 0.9375,
            "n": 4,
        }
    )


def test_no_answer_precision_recall(report: evaluate.EvalReport) -> None:
    # flagged: k2 (wrong) and n1 (right); n2 missed
    na = report.no_answer()
    assert na["precision"] == 0.5 and na["recall"] == 0.5
    assert na["n_flagged"] == 2 and na["n_no_answer"] == 2 and na["n_answerable"] == 4
    assert na["false_flags"] == 1 and na["false_flag_rate"] == 0.25


def test_latency_percentiles(report: evaluate.EvalReport) -> None:
    lat = report.latency()
    assert lat["p50"] == pytest.approx(35.0)
    assert lat["p95"] == pytest.approx(57.5)
    assert lat["max"] == pytest.approx(60.0)


def test_filter_violations(report: evaluate.EvalReport) -> None:
    by_id = {r.id: r for r in report.results}
    assert by_id["f1"].violations == ["s-tech", "s-old"]
    assert by_id["f1"].unknown == 1  # s-nometa cannot be checked
    assert by_id["k1"].violations == [] and by_id["k1"].unknown == 0  # no filters: nothing to break
    assert report.violations() == {"checked": True, "count": 2, "queries_with_filters": 1, "unknown_hits": 1}


def test_violations_not_checked_without_doc_meta(query_file: Path) -> None:
    rep = run_eval(load_queries(query_file), Clock().search)
    assert rep.violations()["checked"] is False and rep.violations()["count"] is None
    assert "not checked" in rep.to_table()


def test_k_truncates_hits(query_file: Path) -> None:
    rep = run_eval(load_queries(query_file), Clock().search, k=3)
    t1 = next(r for r in rep.results if r.id == "t1")
    assert t1.ranked == ["s-c", "s-f0", "s-f1"]
    assert t1.scores["recall@50"] == 0.25


def test_write_runs(report: evaluate.EvalReport, tmp_path: Path) -> None:
    out = tmp_path / "runs" / "dev.json"
    report.write_runs(out)
    runs = json.loads(out.read_text(encoding="utf-8"))
    assert list(runs) == ["k1", "k2", "t1", "f1", "n1", "n2"]
    assert runs == {q["id"]: ENGINE[q["query"]][0] for q in QUERIES}


def test_to_dict_is_json_and_has_no_query_text(report: evaluate.EvalReport) -> None:
    d = report.to_dict()
    text = json.dumps(d)
    assert all(q["query"] not in text for q in QUERIES)
    assert d["rows"]["overall"]["n"] == 4
    assert d["queries"][0] == {
        "id": "k1",
        "kind": "known_item",
        "ndcg@10": pytest.approx(K1_NDCG),
        "mrr": 0.5,
        "recall@10": 1.0,
        "recall@50": 1.0,
        "latency_ms": 10.0,
        "no_answer_flag": False,
        "n_hits": 2,
        "violations": [],
    }


def test_to_table(report: evaluate.EvalReport) -> None:
    table = report.to_table()
    lines = table.splitlines()
    assert lines[0].split() == ["kind", "nDCG@10", "MRR", "R@10", "R@50", "n"]
    assert lines[1].split() == ["known_item", "0.815", "0.750", "1.000", "1.000", "2"]
    assert lines[2].split() == ["topical", "0.562", "1.000", "0.250", "0.750", "1"]
    assert lines[4].split() == ["no_answer", "-", "-", "-", "-", "2"]
    assert lines[6].split() == ["overall", "0.738", "0.875", "0.812", "0.938", "4"]
    assert len({len(line) for line in lines[:7]}) == 1  # fixed width
    assert "P=0.50 R=0.50" in table and "wrongly flagged 1/4 (0.25)" in table
    assert "p50=35.0 p95=57.5" in table
    assert "violations  2 " in table


def test_compare_against_baseline(report: evaluate.EvalReport) -> None:
    baseline = report.to_dict()
    baseline["rows"]["overall"]["ndcg@10"] -= 0.1
    baseline["queries"][2]["ndcg@10"] = 0.9  # t1 was better before
    baseline["queries"][4]["no_answer_flag"] = False  # n1 newly flagged
    out = compare(report, baseline)
    assert "0.738 (+0.100)" in out
    assert "0.815 (+0.000)" in out
    assert "t1" in out and "0.900 -> 0.562 (-0.338)" in out
    assert "n1" in out and "False -> True" in out
    assert "k1" not in out  # unchanged queries are not listed
    assert compare(report, {}).count("(new)") > 0  # an empty baseline still renders


def test_search_errors_name_the_query(query_file: Path) -> None:
    def broken(text: str, filters: SearchFilters, k: int) -> Any:
        raise RuntimeError("index missing")

    with pytest.raises(RuntimeError) as info:
        run_eval(load_queries(query_file), broken)
    assert any("k1" in note for note in info.value.__notes__)


def test_load_doc_meta(tmp_path: Path) -> None:
    path = tmp_path / "stories.jsonl"
    row = {"slug": "s-1", "title": "T", "industry": "retail", "tags": ["rag"], "year": 2023, "body": "long"}
    path.write_text(json.dumps(row) + "\n\n", encoding="utf-8")
    assert load_doc_meta(path) == {"s-1": StoryCard("s-1", "T", industry="retail", tags=("rag",), year=2023)}


def _with(index: int, **changes: Any) -> list[Any]:
    data: list[Any] = json.loads(json.dumps(QUERIES))
    data[index].update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"queries": []}, "expected a JSON list"),
        ([*QUERIES, "oops"], "entry 6: expected an object"),
        (_with(0, id=""), "entry 0: missing or empty 'id'"),
        (_with(1, id="k1"), "query k1: duplicate id"),
        (_with(0, kind="fuzzy"), "query k1: unknown kind 'fuzzy'"),
        (_with(2, query="  "), "query t1: missing or empty 'query'"),
        (_with(3, filters={"sector": "finance"}), "query f1: bad filters: unknown filter"),
        (_with(3, filters={"year_min": "recent"}), "query f1: bad filters"),
        (_with(3, filters=["finance"]), "query f1: 'filters' must be an object"),
        (_with(1, relevant=["s-beta"]), "query k2: 'relevant' must be an object"),
        (_with(1, relevant={"s-beta": "2"}), "query k2: bad relevance label 's-beta'"),
        (_with(1, relevant={"s-beta": -1}), "query k2: bad relevance label"),
        (_with(1, relevant={}), "query k2: a known_item query needs at least one relevant story"),
        (_with(4, relevant={"s-x": 1}), "query n1: a no_answer query must not list relevant stories"),
    ],
)
def test_load_errors_name_the_query(tmp_path: Path, data: Any, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        load_queries(path)


def test_load_rejects_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("[{", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_queries(path)


def test_dev_set_loads() -> None:
    """The shared dev set passes validation (counts only; its queries stay out of this repo)."""
    path = Path(__file__).resolve().parents[3] / "shared" / "eval" / "dev_queries.json"
    if not path.is_file():
        pytest.skip("../shared/eval/dev_queries.json is not present")
    kinds = [q.kind for q in load_queries(path)]
    assert set(kinds) <= set(evaluate.KINDS) and kinds.count("no_answer") >= 1
