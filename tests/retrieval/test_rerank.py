"""The cross-encoder stage through the real sentence_transformers.CrossEncoder class, with a
tiny BERT built locally from a config (random weights: plumbing, never quality)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reffy.retrieval.rerank import CrossEncoderReranker, load_reranker

WORDS = ["bank", "call", "time", "claims", "insurance", "retail", "chatbot", "handling", "cut", "story"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    path = tmp_path_factory.mktemp("tiny-cross-encoder")
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(tokens)})
    assert tokenizer.unk_token_id not in tokenizer("bank call time")["input_ids"]  # words are real tokens
    config = BertConfig(
        vocab_size=len(WORDS) + 5,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=1,
        initializer_range=0.2,
    )
    torch.manual_seed(7)  # wide, seeded init: scores differ clearly and the same way on every run
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_real_cross_encoder_scores_pairs(tiny_model):
    reranker, note = load_reranker(str(tiny_model))
    assert note is None and isinstance(reranker, CrossEncoderReranker)
    scores = reranker.scores("bank call time", ["bank call handling", "retail chatbot story", "claims insurance"])
    assert scores.shape == (3,) and len(set(scores.round(6).tolist())) > 1
    again = reranker.scores("bank call time", ["bank call handling", "retail chatbot story", "claims insurance"])
    assert (scores == again).all()  # deterministic in eval mode


def test_missing_weights_turn_reranking_off_with_a_note(tmp_path):
    reranker, note = load_reranker(str(tmp_path / "no-such-model"))
    assert reranker is None and "REFFY_RERANKER_MODEL" in note


def test_engine_reorders_the_head_by_cross_encoder_scores(tiny_model, tmp_path):
    from reffy.domain.story import StoryCard
    from reffy.retrieval.engine import SearchEngine, SearchResult

    reranker, _ = load_reranker(str(tiny_model))
    engine = SearchEngine.__new__(SearchEngine)  # only the re-ranking step is exercised here
    engine.settings = type("S", (), {"rerank_top": 3})()
    engine._reranker, engine._reranker_checked, engine.notes = reranker, True, []
    engine.by_id = {
        d: StoryCard(d, d, summary=text)
        for d, text in [
            ("a", "retail chatbot story"),
            ("b", "bank call handling"),
            ("c", "claims insurance"),
            ("d", "x"),
        ]
    }
    ranked = [("a", 0.9), ("b", 0.8), ("c", 0.7), ("d", 0.1)]
    timings: dict[str, float] = {}
    out = engine._rerank("bank call time", ranked, SearchResult("q", "hybrid", []), timings)
    expected = reranker.scores("bank call time", ["retail chatbot story", "bank call handling", "claims insurance"])
    order = sorted(range(3), key=lambda i: -float(expected[i]))
    assert [d for d, _ in out[:3]] == [["a", "b", "c"][i] for i in order]
    assert out[3] == ("d", 0.1) and "rerank" in timings
