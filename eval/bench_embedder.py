"""Embedding backends compared on real passages: export cost, cold query start, throughput, agreement.

    python eval/bench_embedder.py --passages 500 --chars 1000

Exports the bundled model into a fresh temporary cache (timed, fp32 then int8), then measures
a fresh process embedding one query (ONNX and sentence-transformers), passages per second for
fp32 ONNX, int8 ONNX and sentence-transformers, and the cosine of each ONNX variant to the
sentence-transformers vectors. The corpus is read at run time. Other work on the machine skews
throughput: the backends take turns and the best round counts, and the load average is printed.
Logic: :mod:`reffy.embed_bench`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "corpus" / "stories.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="JSONL with a text (or body) field per story.")
    parser.add_argument("--passages", type=int, default=500, help="Passages to embed.")
    parser.add_argument("--chars", type=int, default=1000, help="Characters per passage.")
    parser.add_argument("--cold-runs", type=int, default=3, help="Fresh processes per backend for the cold query.")
    parser.add_argument("--rounds", type=int, default=2, help="Throughput rounds per backend (the best counts).")
    args = parser.parse_args()

    from reffy import embed_bench as bench
    from reffy.embedder import DEFAULT_MODEL, SentenceTransformerEmbedder, get_embedder

    with tempfile.TemporaryDirectory(prefix="reffy-bench-cache-") as tmp:
        cache = Path(tmp)
        print("| export | seconds | MB |\n|---|---:|---:|")
        for row in bench.timed_export(DEFAULT_MODEL, cache):
            print(f"| {row['file']} | {row['seconds']:.1f} | {row['mb']:.1f} |")

        print("\n| cold query: a fresh process embeds one query | wall s (median) | in-process s | torch imported |")
        print("|---|---:|---:|---|")
        for backend in ("onnx", "sentence-transformers"):
            runs = bench.cold_query(backend, cache, runs=args.cold_runs)
            print(
                f"| {runs[0]['backend']} | {statistics.median(r['wall_s'] for r in runs):.2f} | "
                f"{statistics.median(r['inside_s'] for r in runs):.2f} | {bool(runs[0]['heavy'])} |"
            )

        passages = bench.load_passages(args.corpus, n=args.passages, chars=args.chars)
        print(
            f"\n{len(passages)} passages, mean {statistics.mean(map(len, passages)):.0f} characters; "
            f"best of {args.rounds} rounds; load average {os.getloadavg()[0]:.1f} before"
        )
        embedders = {"sentence-transformers": SentenceTransformerEmbedder(DEFAULT_MODEL)}
        for quantized in (False, True):
            embedder = get_embedder(backend="onnx", quantized=quantized, cache_dir=cache)
            embedders[embedder.backend] = embedder
        results = bench.throughput(embedders, passages, rounds=args.rounds)
        reference = results["sentence-transformers"][1]
        print("| backend | passages/s | cosine min | cosine mean |\n|---|---:|---:|---:|")
        for name, (rate, vectors) in results.items():
            stats = bench.cosine_stats(vectors, reference)
            print(f"| {name} | {rate:.1f} | {stats['min']:.4f} | {stats['mean']:.4f} |")
        print(f"load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
