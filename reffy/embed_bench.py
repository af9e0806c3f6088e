"""Measurements of the embedding backends, for ``eval/bench_embedder.py``.

The ONNX backend exists to make a search query cheap in a fresh process and to index
faster; these functions measure exactly that on real passages: export time and size,
the wall time of a cold process embedding one query, passages per second, and how close
each backend's vectors are to the sentence-transformers reference.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from reffy.embedder import Embedder

TEXT_FIELDS = ("text", "body")  # the corpus's story text, whichever the file has

COLD_QUERY = """
import json, sys, time
started = time.perf_counter()
from reffy.embedder import get_embedder
embedder = get_embedder(backend=sys.argv[1], cache_dir=sys.argv[2])
embedder.embed(["which insurer automated its claims?"])
heavy = [m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules]
print(json.dumps({"inside_s": time.perf_counter() - started, "backend": embedder.backend, "heavy": heavy}))
"""


def cut(text: str, chars: int) -> list[str]:
    """Consecutive windows of about ``chars`` characters, cut at spaces."""
    pieces, start = [], 0
    while start < len(text):
        end = len(text) if len(text) - start <= chars else text.rfind(" ", start, start + chars)
        end = start + chars if end <= start else end
        pieces.append(text[start:end].strip())
        start = end
    return [p for p in pieces if p]


def load_passages(path: Path, *, n: int = 500, chars: int = 1000, per_story: int = 2) -> list[str]:
    """``n`` passages of ~``chars`` characters: the first ``per_story`` full-length windows of
    each story in the JSONL file, in file order."""
    passages: list[str] = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            text = next((row[f] for f in TEXT_FIELDS if row.get(f)), "")
            windows = [w for w in cut(" ".join(text.split()), chars) if len(w) >= chars * 0.8]
            passages.extend(windows[:per_story])
            if len(passages) >= n:
                return passages[:n]
    return passages


def throughput(embedders: dict[str, Embedder], texts: list[str], *, rounds: int = 2) -> dict[str, tuple]:
    """{name: (passages per second, vectors)}: the best of ``rounds``, the embedders taking
    turns so that a change in machine load hits all of them alike; loading (a warm-up
    batch) is not counted."""
    best: dict[str, tuple] = {}
    for embedder in embedders.values():
        embedder.embed(texts[:8])
    for _ in range(rounds):
        for name, embedder in embedders.items():
            started = time.perf_counter()
            vectors = embedder.embed(texts)
            rate = len(texts) / (time.perf_counter() - started)
            if name not in best or rate > best[name][0]:
                best[name] = (rate, vectors)
    return best


def cosine_stats(vectors: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    cosine = (vectors * reference).sum(axis=1)
    return {"min": float(cosine.min()), "mean": float(cosine.mean())}


def cold_query(backend: str, cache_dir: Path, *, runs: int = 3) -> list[dict[str, Any]]:
    """Fresh processes embedding one query: wall seconds (interpreter start included), seconds
    from the first import to the vector, and which heavy modules got imported."""
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", COLD_QUERY, backend, str(cache_dir)], capture_output=True, text=True, check=True
        )
        results.append({"wall_s": time.perf_counter() - started, **json.loads(out.stdout.strip().splitlines()[-1])})
    return results


def timed_export(model: str, cache_dir: Path) -> list[dict[str, Any]]:
    """Export fp32 then int8 into ``cache_dir`` (empty for a real measurement): seconds, MB."""
    from reffy.onnx_export import ensure_onnx

    rows = []
    for quantized in (False, True):
        started = time.perf_counter()
        path = ensure_onnx(model, quantized=quantized, cache_dir=cache_dir)
        rows.append({"file": path.name, "seconds": time.perf_counter() - started, "mb": path.stat().st_size / 1e6})
    return rows
