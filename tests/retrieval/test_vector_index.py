"""The dense index over Chroma: the where-clause encoding agrees with SearchFilters.matches,
upsert/delete/update semantics, persistence, cosine ordering, manifest; and the same checks
against a real `chroma run` server through ``url=``. Vectors are small seeded random ones."""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from helpers import stop_process

from reffy.domain.story import StoryCard
from reffy.errors import VectorIndexMismatch
from reffy.retrieval.types import SearchFilters
from reffy.retrieval.vector import VectorIndex, flatten_metadata, where_for

DIMS = 8
INDUSTRIES = ["finance", "healthcare", "retail", "tech"]
COUNTRIES = ["US", "DE", "JP", "BR"]
PRODUCTS = ["quillon-assist", "quillon-search", "quillon-agent"]
COMPETITORS = ["zentrix", "acme", "nimbus"]
TAGS = ["rag", "agents", "evals", "fine-tuning", "chatbot", "search"]


def unit(rng: np.random.Generator, n: int, dims: int = DIMS) -> np.ndarray:
    v = rng.normal(size=(n, dims)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def random_story(rng: random.Random, i: int) -> dict:
    return {
        "story_id": f"s{i:03d}",
        "kind": "story",
        "industry": rng.choice([*INDUSTRIES, None]),
        "country": rng.choice([*COUNTRIES, None]),
        "products": rng.sample(PRODUCTS, rng.randint(0, 2)),
        "competitors": rng.sample(COMPETITORS, rng.randint(0, 2)),
        "tags": rng.sample(TAGS, rng.randint(0, 4)),
        "year": rng.choice([None, 2018, 2020, 2021, 2022, 2023, 2024]),
        "score": rng.choice([None, 0, 8, 12, 15, 20, 27]),
        "shareability": rng.choice(["public", "internal", "anonymised"]),  # gold's column is NOT NULL
    }


def random_filters(rng: random.Random) -> SearchFilters:
    def some(pool: list[str], extra: str) -> tuple[str, ...]:
        return tuple(rng.sample([*pool, extra], rng.randint(1, 3))) if rng.random() < 0.35 else ()

    year_min = rng.choice([None, None, 2019, 2021, 2023])
    return SearchFilters(
        industry=some(INDUSTRIES, "energy"),
        country=some(COUNTRIES, "FR"),
        product=some(PRODUCTS, "quillon-x"),
        competitor=some(COMPETITORS, "other"),
        tags_any=some(TAGS, "unused"),
        tags_all=tuple(rng.sample(TAGS, rng.randint(1, 2))) if rng.random() < 0.25 else (),
        year_min=year_min,
        year_max=rng.choice([None, None, 2020, 2022, 2024]),
        min_score=rng.choice([None, None, 0, 10, 15, 25]),
        shareability=rng.choice([None, None, "public", "internal"]),
    )


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], np.ndarray, list[dict]]:
    rng = random.Random(42)
    stories = [random_story(rng, i) for i in range(60)]
    return [s["story_id"] for s in stories], unit(np.random.default_rng(1), 60), stories


def check_index(index: VectorIndex, corpus, n_filters: int) -> None:
    """The shared body of the embedded and the server test."""
    ids, vectors, stories = corpus
    index.upsert(ids, vectors, [flatten_metadata(s) for s in stories], documents=[f"doc {i}" for i in ids])
    assert index.count() == len(ids)
    query = unit(np.random.default_rng(7), 1)[0]
    # Unfiltered: every doc, exact cosine, best first.
    hits = index.query(query, k=len(ids))
    expected = vectors @ query
    assert [h[0] for h in hits] == [ids[i] for i in np.argsort(-expected)]
    sims = {i: s for i, s, _ in hits}
    assert all(abs(sims[d] - float(e)) < 1e-4 for d, e in zip(ids, expected, strict=True))
    # Filters: Chroma's answer is exactly the reference answer, for many random combinations.
    rng = random.Random(3)
    nonempty = 0
    for _ in range(n_filters):
        f = random_filters(rng)
        want = {s["story_id"] for s in stories if f.matches(StoryCard.from_row({"title": "", **s}))}
        got = [h[0] for h in index.query(query, k=len(ids) + 5, where=where_for(f))]
        assert len(got) == len(set(got))
        assert set(got) == want, (f, where_for(f))
        assert set(index.get_ids(where=where_for(f))) == want
        nonempty += bool(want)
    assert nonempty > n_filters // 4  # the generator exercises real matches, not only empty sets


def test_filters_match_reference_semantics(settings, corpus) -> None:
    check_index(VectorIndex(settings, collection="prop_test"), corpus, n_filters=400)


def test_flatten_metadata_encoding() -> None:
    doc = {
        "industry": "finance",
        "country": None,
        "products": ["b", "a", "a"],
        "competitors": [],
        "tags": None,
        "year": 2021,
        "score": None,
        "shareability": "public",
        "story_id": "x",
        "kind": "story",
        "n": np.int64(3),
    }
    flat = flatten_metadata(doc)
    assert flat == {
        "industry": "finance",
        "products": ["a", "b"],
        "year": 2021,
        "quality": 0,
        "shareability": "public",
        "story_id": "x",
        "kind": "story",
        "n": 3,
    }
    assert "year" not in flatten_metadata({"year": None})
    with pytest.raises(ValueError, match="scalar"):
        flatten_metadata({"extra": {"a": 1}})


def test_where_for_shapes() -> None:
    assert where_for(SearchFilters()) is None
    assert where_for(None) is None
    # A single condition is bare: Chroma rejects one-element $and/$or lists.
    assert where_for(SearchFilters(tags_any=("rag",))) == {"tags": {"$contains": "rag"}}
    assert where_for(SearchFilters(industry=("finance",))) == {"industry": {"$in": ["finance"]}}
    assert where_for(SearchFilters(tags_any=("rag", "evals"), year_min=2020)) == {
        "$and": [{"$or": [{"tags": {"$contains": "rag"}}, {"tags": {"$contains": "evals"}}]}, {"year": {"$gte": 2020}}]
    }
    assert where_for(SearchFilters(tags_all=("rag", "evals"))) == {
        "$and": [{"tags": {"$contains": "rag"}}, {"tags": {"$contains": "evals"}}]
    }


def test_upsert_update_delete(settings) -> None:
    index = VectorIndex(settings, collection="crud_test")
    vecs = unit(np.random.default_rng(0), 4)
    index.upsert(["a", "b", "c", "d"], vecs, [flatten_metadata({"industry": "tech", "tags": ["rag"]})] * 4)
    assert index.count() == 4
    # Upsert of an existing id replaces vector and metadata, never duplicates.
    index.upsert(["a"], vecs[1:2], [flatten_metadata({"industry": "retail"})])
    assert index.count() == 4
    top = index.query(vecs[1], k=2)
    assert {t[0] for t in top} == {"a", "b"} and all(t[1] > 0.999 for t in top)
    assert {i: m for i, _, m in index.query(vecs[1], k=4)}["a"] == {"industry": "retail", "quality": 0}
    assert index.get_ids(where={"industry": "retail"}) == ["a"]
    index.delete(ids=["b"])
    assert sorted(index.get_ids()) == ["a", "c", "d"]
    index.delete(where=where_for(SearchFilters(tags_any=("rag",))))
    assert index.get_ids() == ["a"]
    index.delete(ids=["missing"])  # deleting an unknown id is not an error
    with pytest.raises(ValueError):
        index.delete()
    index.reset()
    assert index.count() == 0 and index.manifest == {}
    assert index.query(vecs[0], k=3) == []


def test_batches_above_the_batch_size(settings) -> None:
    index = VectorIndex(settings, collection="batch_test")
    index.batch_size = 7  # force several round trips
    ids = [f"x{i}" for i in range(30)]
    index.upsert(ids, unit(np.random.default_rng(2), 30), [{"kind": "chunk", "i": i} for i in range(30)])
    assert index.count() == 30
    index.delete(ids=ids[:20])
    assert sorted(index.get_ids()) == sorted(ids[20:])


def test_cosine_ordering_with_hand_made_vectors(settings) -> None:
    index = VectorIndex(settings, collection="cosine_test")
    vecs = np.array([[1, 0, 0], [0.8, 0.6, 0], [0, 1, 0], [-1, 0, 0]], dtype=np.float32)
    index.upsert(["same", "close", "orthogonal", "opposite"], vecs, [{"k": i} for i in range(4)])
    hits = index.query(np.array([1, 0, 0], dtype=np.float32), k=10)
    assert [h[0] for h in hits] == ["same", "close", "orthogonal", "opposite"]
    assert np.allclose([h[1] for h in hits], [1.0, 0.8, 0.0, -1.0], atol=1e-5)
    assert index.query(vecs[0], k=0) == []


def test_persistence_and_manifest_round_trip(settings) -> None:
    from chromadb.api.client import SharedSystemClient

    index = VectorIndex(settings, collection="persist_test")
    assert index.manifest == {}
    vecs = unit(np.random.default_rng(5), 3)
    index.upsert(["a", "b", "c"], vecs, [flatten_metadata({"year": 2020 + i}) for i in range(3)])
    written = index.set_manifest("bundled:all-MiniLM-L6-v2", DIMS, "chunk-1", corpus="gold")
    assert written["model_id"] == "bundled:all-MiniLM-L6-v2" and written["reffy_version"] and written["built_at"]
    index.close()  # the last client: Chroma stops the store, so the next client re-reads the files
    assert not any(str(settings.home) in key for key in SharedSystemClient._identifier_to_system)
    assert (settings.home / "chroma").is_dir()
    again = VectorIndex(settings, collection="persist_test")
    assert again.count() == 3 and again.manifest == written
    assert again.query(vecs[2], k=1)[0][0] == "c"
    again.check_manifest("bundled:all-MiniLM-L6-v2", DIMS)
    with pytest.raises(VectorIndexMismatch, match="Rebuild"):
        again.check_manifest("other-model", 384)
    with pytest.raises(VectorIndexMismatch, match="dimensions"):
        again.upsert(["z"], unit(np.random.default_rng(0), 1, dims=DIMS + 1), [{"k": 1}])


def test_collections_are_separate(settings) -> None:
    a = VectorIndex(settings, collection="coll_a")
    b = VectorIndex(settings, collection="coll_b")
    a.upsert(["x"], unit(np.random.default_rng(0), 1), [{"k": 1}])
    assert a.count() == 1 and b.count() == 0


def test_bad_url_is_a_config_error(settings) -> None:
    from reffy.errors import ConfigError

    with pytest.raises(ConfigError, match="REFFY_CHROMA_URL"):
        VectorIndex(settings, url="ftp://nowhere")
    with pytest.raises(ConfigError, match="server is running"):  # nothing listens there
        VectorIndex(settings, url=f"http://127.0.0.1:{_free_port()}")


def test_a_non_cosine_collection_is_refused_until_reset(settings) -> None:
    index = VectorIndex(settings, collection="l2_test")
    index.client.delete_collection("l2_test")
    index.client.create_collection("l2_test", configuration={"hnsw": {"space": "l2"}}, embedding_function=None)
    other = VectorIndex(settings, collection="l2_test")
    with pytest.raises(VectorIndexMismatch, match="cosine"):
        other.query(unit(np.random.default_rng(0), 1)[0], k=1)
    other.reset()
    other.upsert(["a"], unit(np.random.default_rng(0), 1), [{"k": 1}])
    assert other.space == "cosine" and other.count() == 1


# -- a real Chroma server -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    binary = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    if not Path(binary).is_file():
        pytest.skip("the `chroma` server CLI is not installed (pip install chromadb)")
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = (data.parent / "chroma-server.log").open("wb")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [binary, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as resp:
                    json.load(resp)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() - started > 30:
                    pytest.fail(f"chroma server did not answer its heartbeat; see {log.name}")
                time.sleep(0.1)
        yield url, time.monotonic() - started
    finally:
        stop_process(proc, timeout=10)
        log.close()


def test_against_a_chroma_server(settings, corpus, chroma_server) -> None:
    url, startup_s = chroma_server
    started = time.monotonic()
    index = VectorIndex(settings, collection="server_test", url=url)
    assert index.path is None and not (settings.home / "chroma").exists()  # nothing written locally
    check_index(index, corpus, n_filters=150)
    index.delete(ids=corpus[0][:10])
    assert index.count() == len(corpus[0]) - 10
    index.set_manifest("m", DIMS, "chunk-1")
    assert VectorIndex(settings, collection="server_test", url=url).manifest["model_id"] == "m"
    index.reset()
    assert index.count() == 0
    print(f"chroma server: startup {startup_s:.1f} s, checks {time.monotonic() - started:.1f} s")
