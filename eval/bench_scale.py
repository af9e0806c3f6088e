"""Search latency and memory at 100,000 stories: the built corpus replicated with perturbation.

    python eval/bench_scale.py --home /tmp/reffy-eval/with-summary --stories 100000 --out /tmp/reffy-scale

Embedding 100,000 stories on 2 CPU cores would take many hours, so the scale home reuses the
corpus's real vectors: each replica's summary and intro vectors and up to ``--chunks`` chunk vectors are
the original's plus small Gaussian noise (renormalised), and each replica's text has ~10% of
its words dropped and its sentences shuffled (the same perturbation as bench_keyword.py).
Then the real SearchEngine runs every dev query (and a sample of titles) in both modes.
Build and query run in separate processes so each peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from itertools import compress
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
QUERIES = HERE.parent.parent / "shared" / "eval" / "dev_queries.json"
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
BATCH = 2000


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def perturb(text: str, rng: random.Random, nprng: np.random.Generator) -> str:
    sentences = SENTENCE_RE.split(text)
    rng.shuffle(sentences)
    words = " ".join(sentences).split()
    return " ".join(compress(words, (nprng.random(len(words)) > 0.1).tolist()))


def build(src: Path, out: Path, stories: int, max_chunks: int, noise: float) -> dict:
    from reffy.config import load_settings
    from reffy.retrieval.docstore import DocStore, write_docstore
    from reffy.retrieval.indexer import (
        CHUNK,
        INTRO,
        PROFILE_BODY_CHARS,
        SUMMARY,
        VectorStores,
        _vector_meta,
        keyword_text,
        vector_id,
    )
    from reffy.retrieval.keyword import KeywordIndex
    from reffy.retrieval.vector import flatten_metadata

    started = time.perf_counter()
    src_settings = load_settings(home=src)
    docs = json.loads((src_settings.index_dir / "docs.json").read_text(encoding="utf-8"))
    store = DocStore(src_settings.index_dir)
    source_vectors = VectorStores(src_settings)
    if out.exists():
        shutil.rmtree(out)
    settings = load_settings(home=out)
    settings.index_dir.mkdir(parents=True)
    rng, nprng = random.Random(7), np.random.default_rng(7)
    new_docs, texts, chunk_rows, items = [], {}, {}, []
    vec_store = VectorStores(settings)
    timings = {"vectors_s": 0.0}

    def flush() -> None:
        if not items:
            return
        t = time.perf_counter()
        vec_store.upsert([i for i, _, _ in items], np.stack([v for _, v, _ in items]), [m for _, _, m in items])
        timings["vectors_s"] += time.perf_counter() - t
        items.clear()

    originals: dict[str, tuple] = {}
    for n in range(stories):
        doc = docs[n % len(docs)]
        sid = doc["story_id"]
        if sid not in originals:
            stored = store.get(sid)
            chunk_ids = [vector_id(sid, CHUNK, i) for i, _ in stored["chunks"][:max_chunks]]
            ids, vecs = source_vectors.get_vectors([vector_id(sid, SUMMARY), vector_id(sid, INTRO), *chunk_ids])
            originals[sid] = (stored, dict(zip(ids, vecs, strict=True)))
        stored, vectors = originals[sid]
        replica = n // len(docs)
        new_id = sid if replica == 0 else f"{sid}~{replica}"
        copy = {**doc, "story_id": new_id}
        if replica:
            copy["customer"] = f"{doc.get('customer') or 'Customer'} {replica}"  # distinct companies
        text = stored["text"] if replica == 0 else perturb(stored["text"], rng, nprng)
        new_docs.append(copy)
        texts[new_id] = text
        chunks = stored["chunks"][:max_chunks]
        chunk_rows[new_id] = chunks
        meta = _vector_meta(copy)
        for kind, vid_old, vid_new in [(k, vector_id(sid, k), vector_id(new_id, k)) for k in (SUMMARY, INTRO)] + [
            (CHUNK, vector_id(sid, CHUNK, i), vector_id(new_id, CHUNK, i)) for i, _ in chunks
        ]:
            vec = np.asarray(vectors[vid_old], dtype=np.float32)
            if replica:
                vec = vec + nprng.normal(0, noise, vec.shape).astype(np.float32)
                vec /= np.linalg.norm(vec)
            items.append((vid_new, vec, flatten_metadata({**meta, "kind": kind})))
        if len(items) >= BATCH:
            flush()
    flush()
    source_vectors.close()
    t = time.perf_counter()
    ids = [d["story_id"] for d in new_docs]
    titles = [{"title": d["title"]} for d in new_docs]
    KeywordIndex().build(ids, [keyword_text(d, texts[d["story_id"]]) for d in new_docs], fields=titles).save(
        settings.index_dir / "bm25"
    )
    KeywordIndex().build(
        ids, [keyword_text(d, texts[d["story_id"]][:PROFILE_BODY_CHARS]) for d in new_docs], fields=titles
    ).save(settings.index_dir / "bm25_profile")
    timings["keyword_s"] = time.perf_counter() - t
    write_docstore(settings.index_dir, ((sid, texts[sid], [], chunk_rows[sid]) for sid in ids))
    (settings.index_dir / "docs.json").write_text(json.dumps(new_docs), encoding="utf-8")
    manifest = json.loads((src_settings.index_dir / "manifest.json").read_text(encoding="utf-8"))
    vec_store.set_manifest(manifest["embedder"], manifest["dimensions"], manifest["chunker"])
    total_vectors = vec_store.count()
    vec_store.close()
    (settings.index_dir / "manifest.json").write_text(
        json.dumps({**manifest, "stories": len(new_docs), "vectors": total_vectors})
    )
    return {
        "stories": len(new_docs),
        "vectors": total_vectors,
        "build_s": round(time.perf_counter() - started, 1),
        "vectors_s": round(timings["vectors_s"], 1),
        "keyword_s": round(timings["keyword_s"], 1),
        "peak_rss_mb": round(rss_mb()),
    }


def query(home: Path, n_titles: int) -> dict:
    from reffy.config import load_settings
    from reffy.retrieval.engine import SearchEngine
    from reffy.retrieval.evaluate import load_queries
    from reffy.retrieval.metrics import percentile
    from reffy.retrieval.types import SearchFilters

    settings = load_settings(home=home, rerank_top=0)
    t = time.perf_counter()
    engine = SearchEngine(settings)
    engine.warm()
    load_s = time.perf_counter() - t
    queries = [(q.query, q.filters) for q in load_queries(QUERIES)]
    step = max(1, len(engine.docs) // n_titles)
    queries += [(d.title, SearchFilters()) for d in engine.docs[::step][:n_titles]]
    out: dict = {"load_s": round(load_s, 1), "queries": len(queries)}
    for mode in ("keyword", "hybrid"):
        engine.search(queries[0][0], queries[0][1], k=10, mode=mode)
        times = []
        for text, filters in queries:
            t = time.perf_counter()
            engine.search(text, filters, k=10, mode=mode)
            times.append((time.perf_counter() - t) * 1000)
        out[mode] = {"p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1)}
    out["peak_rss_mb"] = round(rss_mb())
    engine.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=Path("/tmp/reffy-eval/with-summary"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/reffy-scale"))
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--chunks", type=int, default=2, help="chunk vectors kept per story")
    parser.add_argument("--noise", type=float, default=0.03)
    parser.add_argument("--titles", type=int, default=100)
    parser.add_argument("--step", choices=["all", "build", "query"], default="all")
    args = parser.parse_args()
    if args.step == "build":
        print(json.dumps(build(args.home, args.out, args.stories, args.chunks, args.noise)))
        return
    if args.step == "query":
        print(json.dumps(query(args.out, args.titles)))
        return
    report = {"machine": "2 cores"}
    for step in ("build", "query"):
        run = subprocess.run(
            [
                sys.executable,
                __file__,
                "--step",
                step,
                "--home",
                str(args.home),
                "--out",
                str(args.out),
                "--stories",
                str(args.stories),
                "--chunks",
                str(args.chunks),
                "--noise",
                str(args.noise),
                "--titles",
                str(args.titles),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        report[step] = json.loads(run.stdout.strip().splitlines()[-1])
        print(step, report[step], flush=True)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"scale_{args.stories}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
