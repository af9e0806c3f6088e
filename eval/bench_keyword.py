"""Keyword index (BM25, bm25s) benchmark: build time, query latency, peak RSS.

Builds from ``../shared/corpus/stories.jsonl`` (read at run time) and from the same corpus
replicated with perturbations (sentences shuffled, ~10% of words dropped) to --scale docs.
Each size runs in its own process so peak RSS belongs to that size alone.

    python eval/bench_keyword.py                    # 1,483 real docs, then 100,000
    python eval/bench_keyword.py --sizes 1483 20000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from itertools import compress
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "stories.jsonl"
QUERIES = [  # hand-written, in the style of a sales rep's request
    "RAG chatbot for customer support in banking",
    "fraud detection with LLMs",
    "how do companies evaluate LLM agents in production",
    "e-commerce product search and recommendations",
    "healthcare clinical notes summarization HIPAA",
    "reduce inference cost and latency",
    "code generation developer productivity",
    "insurance claims document processing",
    "multilingual translation for global customers",
    "guardrails hallucination prevention",
    "fine-tuning small models instead of GPT-4",
    "vector database semantic search at scale",
]
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_corpus(size: int, seed: int = 7) -> tuple[list[str], list[str], list[dict]]:
    stories = [json.loads(line) for line in CORPUS.open(encoding="utf-8")]
    ids, texts, fields = [], [], []
    rng, nprng = random.Random(seed), np.random.default_rng(seed)
    for n in range(size):
        story = stories[n % len(stories)]
        body = f"{story.get('summary') or ''}\n{story.get('body') or ''}"
        if n >= len(stories):  # a perturbed copy: shuffled sentences, ~10% of words dropped
            sentences = SENTENCE_RE.split(body)
            rng.shuffle(sentences)
            words = " ".join(sentences).split()
            body = " ".join(compress(words, (nprng.random(len(words)) > 0.1).tolist()))
        ids.append(f"{story['slug']}~{n // len(stories)}")
        texts.append(body)
        fields.append({"title": story["title"]})
    return ids, texts, fields


def run_one(size: int, n_queries: int) -> dict:
    from reffy.retrieval.keyword import KeywordIndex

    t = time.perf_counter()
    ids, texts, fields = load_corpus(size)
    gen_s, rss_texts = time.perf_counter() - t, rss_mb()
    index = KeywordIndex().build(ids, texts, fields)
    rss_built = rss_mb()
    titles = [f["title"] for f in fields[:: max(1, len(fields) // n_queries)]]
    queries = (QUERIES + titles)[:n_queries]
    rng = np.random.default_rng(1)
    mask = rng.random(len(ids)) < 0.1  # a filter keeping ~10% of stories
    for q in QUERIES:  # warm-up
        index.query(q, 100)

    def timed(allowed):
        lat = []
        for q in queries:
            start = time.perf_counter()
            index.query(q, 100, allowed)
            lat.append((time.perf_counter() - start) * 1000)
        return float(np.percentile(lat, 50)), float(np.percentile(lat, 95))

    p50, p95 = timed(None)
    fp50, fp95 = timed(mask)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        index.save(Path(tmp) / "kw")
        save_s = time.perf_counter() - start
        disk_mb = sum(f.stat().st_size for f in (Path(tmp) / "kw").iterdir()) / 1e6
        start = time.perf_counter()
        type(index).load(Path(tmp) / "kw")
        load_s = time.perf_counter() - start
    return {
        "docs": size,
        "text_mb": round(sum(map(len, texts)) / 1e6, 1),
        "corpus_gen_s": round(gen_s, 1),
        "build_s": index.manifest["build_seconds"],
        "tokenize_s": index.manifest["tokenize_seconds"],
        "vocab": index.manifest["vocab_size"],
        "queries": len(queries),
        "p50_ms": round(p50, 2),
        "p95_ms": round(p95, 2),
        "filtered_p50_ms": round(fp50, 2),
        "filtered_p95_ms": round(fp95, 2),
        "save_s": round(save_s, 2),
        "load_s": round(load_s, 2),
        "disk_mb": round(disk_mb, 1),
        "rss_texts_mb": round(rss_texts),
        "peak_rss_mb": round(max(rss_built, rss_mb())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1483, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one size
    args = parser.parse_args()
    if not CORPUS.is_file():
        sys.exit(f"{CORPUS} is missing: the benchmark reads the shared corpus at run time.")
    if args.one:
        print(json.dumps(run_one(args.one, args.queries)))
        return
    print(f"keyword bench on {os.cpu_count()} cores, k=100, single queries")
    for size in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--queries", str(args.queries)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['docs']:>7,} docs ({r['text_mb']} MB text, vocab {r['vocab']:,}): build {r['build_s']:.1f} s "
            f"(tokenize {r['tokenize_s']:.1f} s); query p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms; "
            f"filtered (10%) p50 {r['filtered_p50_ms']:.2f} ms, p95 {r['filtered_p95_ms']:.2f} ms; "
            f"save {r['save_s']:.1f} s, load {r['load_s']:.1f} s, {r['disk_mb']} MB on disk; "
            f"peak RSS {r['peak_rss_mb']:,} MB (texts alone {r['rss_texts_mb']:,} MB)"
        )


if __name__ == "__main__":
    main()
