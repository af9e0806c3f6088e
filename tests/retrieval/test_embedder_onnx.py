"""The ONNX embedding backend against the sentence-transformers reference, with the real model.

The export runs once per session into the session's model cache (conftest ``model_cache``);
the concurrency test exports again into an empty directory of its own.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reffy.embedder import DEFAULT_MODEL, SentenceTransformerEmbedder, embedder_for, get_embedder, resolve_model_path
from reffy.onnx_export import FP32, ensure_onnx

WORDS = [
    "customer",
    "onboarding",
    "cut",
    "support",
    "costs",
    "cloud",
    "migration",
    "bank",
    "insurer",
    "claims",
    "automation",
    "retail",
    "chain",
    "inventory",
    "forecasting",
    "logistics",
    "hospital",
    "patient",
    "records",
    "energy",
    "grid",
    "telecom",
    "churn",
]
LONG = " ".join(WORDS[i * 7 % len(WORDS)] for i in range(400))  # ~400 tokens: truncation at 256 matters
TEXTS = [
    "bank",
    "x",
    "",
    "   ",
    "?!",
    "42",
    "OK",
    "AI",
    "ümlaut",
    "naïve café",
    "How did an insurer automate claims?",
    "Nordvik Bank moved its call centre to the cloud and cut waiting times by 40%.",
    "A hospital group digitised patient records across 12 sites in 18 months.",
    "RETAIL CHAIN FORECASTS INVENTORY WITH MACHINE LEARNING",
    "retail chain forecasts inventory with machine learning",
    "Le client a réduit ses coûts d'exploitation de 30 % grâce à l'automatisation.",
    "Die Versicherung hat die Schadenbearbeitung vollständig digitalisiert.",
    "La compañía eléctrica redujo las pérdidas de la red un 12 %.",
    "Компания сократила отток клиентов на 15 процентов.",
    "保険会社は請求処理を自動化しました。",
    "该银行将客户服务迁移到了云端。",
    "شركة الاتصالات خفضت معدل فقدان العملاء",
    "🚀 launch day! 🎉",
    "https://example.com/stories/nordvik-bank?utm_source=feed",
    "def embed(texts): return model.encode(texts)",
    "<p>Customer <b>story</b> &amp; results</p>",
    "supercalifragilisticexpialidocious" * 5,
    "word " * 300,
    LONG,
    LONG.upper(),
    'Quote: "We saved two million euros in the first year," said the CFO.',
    "Q3 2023: revenue +18%, EBITDA margin 22.5%, NPS 61.",
    "telecom\nchurn\treduction\r\nproject",
    "A logistics firm " + "and its partners " * 60 + "rerouted trucks in real time.",
    "energy",
    "energy grid",
    "energy grid operator",
    "an energy grid operator in Lithuania",
    "Claims automation for a mid-sized Nordic insurer, with chatbots handling first notice of loss.",
    "Zero-downtime migration of 3,000 virtual machines.",
]


@pytest.fixture(scope="session")
def exported(model_cache: Path) -> dict[str, Path]:
    """Both graphs of the bundled model in the session cache (exported here, once)."""
    return {q: ensure_onnx(DEFAULT_MODEL, quantized=q, cache_dir=model_cache) for q in (False, True)}


@pytest.fixture(scope="session")
def reference() -> np.ndarray:
    return SentenceTransformerEmbedder(DEFAULT_MODEL).embed(TEXTS)


def test_long_texts_really_exceed_the_truncation_length():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(resolve_model_path(DEFAULT_MODEL)) / "tokenizer.json"))
    tokenizer.no_truncation()
    assert len(tokenizer.encode(LONG).ids) > 300


@pytest.mark.parametrize(("quantized", "floor"), [(False, 0.999), (True, 0.98)])
def test_onnx_matches_sentence_transformers(exported, reference, quantized, floor):
    embedder = get_embedder(backend="onnx", quantized=quantized)
    assert embedder.backend == ("onnx-int8" if quantized else "onnx") and len(embedder.artifact) == 12
    assert embedder.model_id == DEFAULT_MODEL == SentenceTransformerEmbedder().model_id  # indexes stay valid
    vectors = embedder.embed(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosine = (vectors * reference).sum(axis=1)
    worst = int(cosine.argmin())
    assert cosine.min() >= floor, f"cosine {cosine.min():.4f} for {TEXTS[worst][:60]!r}"


def test_batch_order_and_composition_do_not_change_vectors(exported):
    texts = TEXTS[::2]  # short, long and truncated ones: half the list keeps the test quick
    embedder = get_embedder(backend="onnx")
    together = embedder.embed(texts)
    alone = np.vstack([embedder.embed([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    order = np.random.default_rng(7).permutation(len(texts))
    np.testing.assert_allclose(embedder.embed([texts[i] for i in order]), together[order], atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_concurrent_queries_share_one_embedder(exported):
    from concurrent.futures import ThreadPoolExecutor

    embedder = get_embedder(backend="onnx")
    expected = embedder.embed(TEXTS[:8])
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: embedder.embed(TEXTS[:8]), range(8)))
    for got in results:
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_query_in_a_fresh_process_never_imports_torch(exported, tmp_path):
    code = (
        "import sys; from reffy.embedder import get_embedder\n"
        "e = get_embedder(); v = e.embed(['x'])\n"
        "print(e.backend, v.shape, [m for m in ('torch', 'transformers', 'sentence_transformers', "
        "'huggingface_hub') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={**os.environ, "REFFY_HOME": str(tmp_path / "home")},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["onnx", "(1,", "384)", "[]"], out.stdout + out.stderr


def test_two_processes_exporting_at_once_export_once(tmp_path):
    cache = tmp_path / "cache"
    code = (
        "import logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stderr)\n"
        "from pathlib import Path; from reffy.onnx_export import ensure_onnx\n"
        f"print(ensure_onnx({DEFAULT_MODEL!r}, quantized=False, cache_dir=Path({str(cache)!r})))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.communicate(timeout=240), p.returncode) for p in procs]
    for (_, err), code_ in results:
        assert code_ == 0, err
    paths = {out.strip() for (out, _), _ in results}
    assert len(paths) == 1
    path = Path(paths.pop())
    assert path.name == FP32 and sorted(p.name for p in path.parent.iterdir()) == [
        ".lock",
        "export.json",
        FP32,
        FP32 + ".sha256",
    ]  # nothing half-written left behind
    assert sum("exported" in err for (_, err), _ in results) == 1
    import onnxruntime

    assert {i.name for i in onnxruntime.InferenceSession(str(path)).get_inputs()} >= {"input_ids", "attention_mask"}


def test_a_hub_model_asked_for_as_onnx_falls_back_and_says_why(caplog):
    with caplog.at_level(logging.INFO, logger="reffy.embedder"):
        embedder = get_embedder("sentence-transformers/all-mpnet-base-v2", backend="onnx")
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.backend == "sentence-transformers"
    assert "not a local model directory" in embedder.note and embedder.artifact == ""
    assert any(r.levelno == logging.WARNING and "sentence-transformers" in r.getMessage() for r in caplog.records)


def test_a_failed_export_falls_back_to_sentence_transformers(tmp_path, caplog):
    broken = tmp_path / "broken-model"
    shutil.copytree(resolve_model_path(DEFAULT_MODEL), broken, ignore=shutil.ignore_patterns("model.safetensors"))
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with caplog.at_level(logging.WARNING, logger="reffy.embedder"):
        embedder = get_embedder(str(broken), cache_dir=tmp_path / "cache")
    assert embedder.backend == "sentence-transformers" and "ONNX export failed" in embedder.note
    assert any("ONNX export failed" in r.getMessage() for r in caplog.records)
    assert not list((tmp_path / "cache").glob("*/*.onnx"))


def test_settings_choose_backend_and_bulk_variant(exported, tmp_path, model_cache):
    from reffy.config import load_settings
    from reffy.retrieval.indexer import _embedder_facts, build_manifest

    settings = load_settings(home=tmp_path, model_cache_dir=model_cache, embedding_bulk_int8=True)
    query, bulk = embedder_for(settings), embedder_for(settings, bulk=True)
    assert (query.backend, bulk.backend) == ("onnx", "onnx-int8") and query.model_id == bulk.model_id
    manifest = {**build_manifest(settings, bulk, chunker="recursive-v1"), **_embedder_facts(bulk)}
    assert manifest["embedder"] == DEFAULT_MODEL and manifest["embedder_backend"] == "onnx-int8"
    assert manifest["embedder_artifact"] == bulk.artifact != query.artifact
    reference = embedder_for(settings.model_copy(update={"embedding_backend": "sentence-transformers"}))
    assert reference.backend == "sentence-transformers"


def test_models_cli_lists_and_exports_into_the_cache(exported, tmp_path):
    env = {**os.environ, "REFFY_HOME": str(tmp_path / "home")}
    run = [sys.executable, "-m", "reffy.cli", "models"]
    export = subprocess.run([*run, "export", "--int8"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert export.returncode == 0, export.stderr
    assert str(exported[False]) in export.stdout and str(exported[True]) in export.stdout
    assert export.stdout.count("already in the cache") == 2
    listing = subprocess.run([*run, "list"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "model-int8.onnx" in listing.stdout and "-> onnx: exported" in listing.stdout
