"""The keyword index: tokenisation, BM25 scores checked against rank_bm25 (the reference),
filtering inside retrieval, persistence. The corpus here is hand-written."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import bm25s
import numpy as np
import pytest
from rank_bm25 import BM25Okapi, BM25Plus

from reffy.errors import KeywordIndexStale
from reffy.retrieval.keyword import KeywordIndex
from reffy.retrieval.text import STOPWORDS, TOKENIZER_VERSION, tokenize

DOCS = {
    "bank-rag": "A retail bank built a RAG chatbot for customer support; the chatbot answers card questions.",
    "bank-fraud": "The bank cut card fraud with an LLM that reviews fraud alerts. Fraud losses fell 30%.",
    "shop-search": "An e-commerce shop rebuilt product search with embeddings and a reranker for customers.",
    "shop-recs": "The ecommerce team uses LLMs to write product descriptions and recommendations.",
    "clinic-notes": "A hospital summarises clinical notes with an LLM; doctors review every summary.",
    "insurer-claims": "An insurer automates claims document processing and fraud checks with LLMs and OCR.",
    "telco-agent": "A telco deployed an LLM agent that resolves customer billing issues in 2023, saving 1,500 hours.",
    "dev-tools": "Engineers use code generation in the IDE; the LLM writes tests and reviews code.",
    "long-llm": "LLM LLM LLM evaluation of the LLM platform: the LLM team measures LLM latency, cost and quality "
    "across many releases, with offline evals, human review, dashboards and alerts for every model change.",
    "empty-ish": "The and of to in.",
    "gpt": "Migrating from GPT-4 to a fine-tuned small model cut inference cost for the support chatbot.",
    "retail-bank-app": "Customers of the bank ask the mobile app assistant about card limits and customer fees.",
}
IDS = list(DOCS)
TEXTS = list(DOCS.values())
QUERIES = [
    "RAG chatbot for bank customer support",
    "fraud fraud detection",  # a repeated term counts twice, in both libraries
    "e-commerce product search",
    "LLM",  # in more than half of the documents: negative Robertson idf, clamped to 0
    "customer",
    "clinical notes summarization",
    "1,500 hours 2023",
    "unknown words only zzz",
]


# -- tokenisation -------------------------------------------------------------------------


def test_tokenizer_basics() -> None:
    assert tokenize("The Customers were RUNNING quickly") == ["custom", "run", "quick"]
    assert tokenize("") == [] and tokenize("the and of") == []
    assert tokenize("Nestlé’s café, São Paulo") == ["nestl", "cafe", "sao", "paulo"]
    assert tokenize("Россия банки 東京") == ["россия", "банки", "東京"]  # other scripts index too
    assert tokenize("snake_case") == ["snake", "case"]
    assert isinstance(TOKENIZER_VERSION, str) and TOKENIZER_VERSION
    assert 140 <= len(STOPWORDS) <= 200


def test_tokenizer_numbers_and_acronyms() -> None:
    assert tokenize("1,500 agents in 2023 saved 40% with GPT 3.5") == [
        "1500",
        "agent",
        "2023",
        "save",
        "40",
        "gpt",
        "3.5",
    ]
    assert tokenize("LLMs GPTs APIs CRMs") == ["llm", "gpt", "api", "crm"]  # plural acronyms meet their singular
    assert tokenize("LLM") == tokenize("LLMs")


def test_tokenizer_hyphens_and_apostrophes() -> None:
    # Parts plus the joined form, so the three spellings meet; the lone letter is dropped.
    assert tokenize("e-commerce") == ["commerc", "ecommerc"]
    assert set(tokenize("ecommerce")) <= set(tokenize("e-commerce"))
    assert set(tokenize("e commerce")) <= set(tokenize("e-commerce"))
    assert tokenize("GPT-4") == ["gpt", "4", "gpt4"]
    assert tokenize("state-of-the-art") == ["state", "art", "stateoftheart"]
    assert tokenize("Dropbox's O'Reilly don't") == ["dropbox", "oreilli"]


# -- differential tests against rank_bm25 ------------------------------------------------

K1, B = 1.5, 0.75


class _LuceneIdfOkapi(BM25Okapi):
    """rank_bm25's Okapi with only the idf swapped for Lucene's ln(1 + (N-df+.5)/(df+.5))."""

    def _calc_idf(self, nd):
        for word, freq in nd.items():
            self.idf[word] = math.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5))


def _close(ours: np.ndarray, ref: np.ndarray) -> None:
    np.testing.assert_allclose(ours, ref, rtol=2e-5, atol=1e-6)  # bm25s stores float32


@pytest.fixture(scope="module")
def tokenized() -> list[list[str]]:
    corpus = [tokenize(t) for t in TEXTS]
    llm_df = sum("llm" in doc for doc in corpus)
    assert llm_df > len(corpus) / 2  # the corpus exercises negative idf
    return corpus


def test_lucene_matches_rank_bm25_okapi_with_lucene_idf(tokenized) -> None:
    """What Reffy ships. rank_bm25 has no Lucene-idf class, so the reference is BM25Okapi's
    own tf/length normalisation with the idf line swapped; Lucene omits the constant (k1+1)."""
    index = KeywordIndex(k1=K1, b=B).build(IDS, TEXTS)
    ref = _LuceneIdfOkapi(tokenized, k1=K1, b=B)
    for q in QUERIES:
        _close(index.score_all(q) * (K1 + 1), ref.get_scores(tokenize(q)))


def test_robertson_matches_bm25okapi_without_epsilon(tokenized) -> None:
    """bm25s's Robertson idf clamps ln((N-df+.5)/(df+.5)) at 0; BM25Okapi floors negative idf
    at epsilon * mean idf, which equals the clamp only with epsilon=0. With the default
    epsilon=0.25 the two differ exactly on terms in more than half the docs (``llm`` here)."""
    index = KeywordIndex(k1=K1, b=B, method="robertson").build(IDS, TEXTS)
    exact = BM25Okapi(tokenized, k1=K1, b=B, epsilon=0.0)
    default = BM25Okapi(tokenized, k1=K1, b=B)
    for q in QUERIES:
        _close(index.score_all(q) * (K1 + 1), exact.get_scores(tokenize(q)))
    assert not np.allclose(index.score_all("LLM") * (K1 + 1), default.get_scores(["llm"]))
    _close(index.score_all("fraud") * (K1 + 1), default.get_scores(["fraud"]))  # rare term: same


def test_atire_tf_with_robertson_idf_is_bm25okapi_score_for_score(tokenized) -> None:
    """The literal pairing, no scale factor: ATIRE's tf part includes (k1+1)."""
    bm25 = bm25s.BM25(k1=K1, b=B, method="atire", idf_method="robertson")
    bm25.index(tokenized, show_progress=False)
    ref = BM25Okapi(tokenized, k1=K1, b=B, epsilon=0.0)
    for q in QUERIES[:-1]:
        _close(bm25.get_scores(tokenize(q)), ref.get_scores(tokenize(q)))


def test_bm25plus_matches_rank_bm25_bm25plus(tokenized) -> None:
    """bm25s's BM25+ equals rank_bm25's BM25Plus (same delta; bm25s defaults to 0.5,
    rank_bm25 to 1), including the idf*delta every doc gets per query term."""
    index = KeywordIndex(k1=K1, b=B, method="bm25+").build(IDS, TEXTS)
    ref = BM25Plus(tokenized, k1=K1, b=B, delta=0.5)
    for q in QUERIES:
        _close(index.score_all(q), ref.get_scores(tokenize(q)))


def test_rankings_agree_with_the_reference(tokenized) -> None:
    index = KeywordIndex(k1=K1, b=B).build(IDS, TEXTS)
    ref = _LuceneIdfOkapi(tokenized, k1=K1, b=B)
    for q in QUERIES:
        ref_scores = dict(zip(IDS, ref.get_scores(tokenize(q)), strict=True))
        got = index.query(q, k=len(IDS))
        assert {d for d, _ in got} == {d for d, s in ref_scores.items() if s > 0}, q
        for d, s in got:  # best first; equal scores may come in either order
            assert s * (K1 + 1) == pytest.approx(ref_scores[d], rel=2e-5)
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
        assert [s for _, s in index.query(q, k=3)] == [s for _, s in got[:3]]


# -- the index ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index() -> KeywordIndex:
    return KeywordIndex().build(IDS, TEXTS)


def test_query_basics(index) -> None:
    hits = index.query("card fraud", k=5)
    assert hits[0][0] == "bank-fraud" and all(s > 0 for _, s in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert {d for d, _ in index.query("fraud", k=100)} == {"bank-fraud", "insurer-claims"}  # zero scores dropped
    assert index.query("zzz qqq", k=5) == [] and index.query("the of", k=5) == [] and index.query("fraud", k=0) == []
    assert index.query("ecommerce", k=5)[0][0] in {"shop-search", "shop-recs"}
    assert {d for d, _ in index.query("e-commerce", k=5)} >= {"shop-search", "shop-recs"}


def test_ids_and_masks(index) -> None:
    assert index.ids == IDS and len(index) == len(IDS)
    assert index.doc_index("gpt") == IDS.index("gpt")
    with pytest.raises(KeyError):
        index.doc_index("nope")
    mask = index.mask(["gpt", "bank-rag", "nope"])
    assert mask.dtype == bool and mask.sum() == 2 and mask[index.doc_index("gpt")]


def test_filter_is_applied_inside_retrieval(index) -> None:
    """The best unfiltered docs are excluded; the filtered query still fills k from the rest."""
    top = [d for d, _ in index.query("LLM", k=3)]
    allowed = ~index.mask(top)
    want = [h for h in index.query("LLM", k=100) if h[0] not in top]
    assert len(want) >= 3
    got = index.query("LLM", k=3, allowed=allowed)
    assert len(got) == 3 and not {d for d, _ in got} & set(top)
    assert [s for _, s in got] == [s for _, s in want[:3]]  # same scores: the mask only excludes
    assert index.query("customer", k=5, allowed=np.zeros(len(IDS), dtype=bool)) == []
    with pytest.raises(ValueError, match="shape"):
        index.query("customer", k=5, allowed=np.ones(3, dtype=bool))


def test_random_masks_never_leak_and_keep_reference_order(index) -> None:
    rng = random.Random(0)
    for _ in range(200):
        q = rng.choice(QUERIES)
        allowed = np.array([rng.random() < 0.5 for _ in IDS])
        k = rng.randint(1, 8)
        scores = index.score_all(q)
        ranked = [IDS[i] for i in np.argsort(-scores, kind="stable") if allowed[i] and scores[i] > 0]
        got = [d for d, _ in index.query(q, k=k, allowed=allowed)]
        assert all(allowed[index.doc_index(d)] for d in got)
        assert len(got) == min(k, len(ranked))
        assert set(got) <= set(ranked[: len(got) + 2])  # ties may swap at the cut
        assert got == [d for d in ranked if d in set(got)]


def test_title_field_boost() -> None:
    texts = ["quarterly report on churn and pricing", "pricing pricing pricing of churn report"]
    fields = [{"title": "Pricing at scale"}, {"title": "A churn story"}]
    plain = KeywordIndex().build(["a", "b"], texts)
    boosted = KeywordIndex().build(["a", "b"], texts, fields)
    assert plain.query("pricing", k=1)[0][0] == "b"
    assert boosted.query("pricing", k=1)[0][0] == "a"
    no_boost = KeywordIndex().build(["a", "b"], texts, fields, field_boosts={"title": 0})
    assert no_boost.query("pricing", 1)[0][0] == "b"


def test_build_validation_and_empty_indexes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unique"):
        KeywordIndex().build(["a", "a"], ["x", "y"])
    with pytest.raises(ValueError, match="length"):
        KeywordIndex().build(["a"], ["x", "y"])
    for ids, texts in (([], []), (["a", "b"], ["the", ""])):
        empty = KeywordIndex().build(ids, texts)
        assert empty.query("anything", k=5) == [] and empty.manifest["doc_count"] == len(ids)
        loaded = KeywordIndex.load(empty.save(tmp_path / f"e{len(ids)}"))
        assert loaded.ids == ids and loaded.query("anything", k=5) == []


def test_rebuild_replaces_everything(index) -> None:
    fresh = KeywordIndex().build(IDS, TEXTS)
    fresh.build(["new"], ["a brand new story about fraud"])
    assert fresh.ids == ["new"] and fresh.query("fraud", k=5)[0][0] == "new"
    assert fresh.query("chatbot", k=5) == []


def test_save_load_round_trip(index, tmp_path: Path) -> None:
    target = tmp_path / "keyword"
    index.save(target)
    loaded = KeywordIndex.load(target)
    for q in QUERIES:
        assert loaded.query(q, k=5) == index.query(q, k=5)
    allowed = index.mask(IDS[::2])
    assert loaded.query("customer", k=3, allowed=allowed) == index.query("customer", k=3, allowed=allowed)
    assert KeywordIndex.load(target, mmap=True).query("fraud", k=2) == index.query("fraud", k=2)
    m = loaded.manifest
    assert m["tokenizer_version"] == TOKENIZER_VERSION and m["doc_count"] == len(IDS)
    assert m["bm25"] == {"k1": 1.5, "b": 0.75, "method": "lucene"} and m["bm25s_version"] == bm25s.__version__
    assert m["built_at"] and m["build_seconds"] >= 0
    assert json.loads((target / "manifest.json").read_text()) == m


def test_save_replaces_atomically_and_cleans_up(index, tmp_path: Path) -> None:
    target = tmp_path / "keyword"
    KeywordIndex().build(["old"], ["old story"]).save(target)
    index.save(target)
    assert KeywordIndex.load(target).ids == IDS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keyword"]  # no temp or old dirs left


def test_stale_or_missing_index_says_rebuild(index, tmp_path: Path) -> None:
    with pytest.raises(KeywordIndexStale, match="Build"):
        KeywordIndex.load(tmp_path / "missing")
    target = index.save(tmp_path / "keyword")
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["tokenizer_version"] = "reffy-tok-0"
    (target / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(KeywordIndexStale, match="Rebuild"):
        KeywordIndex.load(target)


@pytest.mark.corpus
def test_real_corpus(corpus_path: Path) -> None:
    stories = [json.loads(line) for line in corpus_path.open(encoding="utf-8")]
    idx = KeywordIndex().build(
        [s["slug"] for s in stories], [s.get("body") or "" for s in stories], [{"title": s["title"]} for s in stories]
    )
    hits = idx.query("fraud detection", k=10)
    assert len(hits) == 10 and all(
        "fraud" in (s := stories[idx.doc_index(d)])["body"].lower() + s["title"].lower() for d, _ in hits
    )
    finance = np.array([s.get("industry") == "finance" for s in stories])
    got = idx.query("customer support chatbot", k=20, allowed=finance)
    assert len(got) == 20 and all(finance[idx.doc_index(d)] for d, _ in got)


def test_loaded_index_scores_exactly_as_bm25s_retrieves(index, tmp_path: Path) -> None:
    """Queries on a saved index run on numpy alone (no bm25s, no scipy): the same scores and the
    same top-k as bm25s's own retrieval, with and without a filter mask."""
    index.save(tmp_path / "kw")
    loaded = KeywordIndex.load(tmp_path / "kw")
    reference = bm25s.BM25.load(tmp_path / "kw")
    rng = random.Random(7)
    for q in QUERIES:
        term_ids = reference.get_tokens_ids(tokenize(q))
        if not term_ids:
            assert loaded.query(q, 5) == []
            continue
        np.testing.assert_allclose(loaded.score_all(q), reference.get_scores(term_ids), rtol=1e-6, atol=1e-7)
        for mask in (None, np.array([rng.random() < 0.5 for _ in IDS])):
            weight = None if mask is None else mask.astype(np.float32)
            docs, scores = reference.retrieve([term_ids], k=len(IDS), weight_mask=weight, show_progress=False)
            expected = {IDS[int(d)]: float(s) for d, s in zip(docs[0], scores[0], strict=True) if s > 0}
            got = loaded.query(q, len(IDS), mask)
            assert {d for d, _ in got} == set(expected)
            assert all(abs(s - expected[d]) < 1e-5 for d, s in got)
            assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
