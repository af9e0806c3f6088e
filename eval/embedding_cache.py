"""An embedding cache for evaluation builds: vectors keyed by the embedder and the text's hash,
kept in one SQLite file, so the body chunks shared by the evaluation settings (with and without
``summary``) and by repeated experiments are embedded once. Evaluation only: the product's
indexer is incremental by story and does not need it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np


class CachedEmbedder:
    """Wraps an :class:`reffy.embedder.Embedder`; same interface, same vectors."""

    def __init__(self, inner, path: Path) -> None:
        self.inner = inner
        self.model_id, self.dimensions = inner.model_id, inner.dimensions
        self.backend, self.artifact = inner.backend, inner.artifact
        self._key = f"{inner.model_id}|{inner.backend}|{inner.artifact}"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path))
        self.db.execute("CREATE TABLE IF NOT EXISTS vec (k TEXT PRIMARY KEY, v BLOB)")
        self.hits = self.misses = 0

    def _k(self, text: str) -> str:
        return hashlib.sha256(f"{self._key}\n{text}".encode()).hexdigest()

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [self._k(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            rows = self.db.execute(f"SELECT k, v FROM vec WHERE k IN ({','.join('?' * len(part))})", part)
            found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        missing = [i for i, k in enumerate(keys) if k not in found]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = self.inner.embed([texts[i] for i in missing]).astype(np.float32)
            self.db.executemany(
                "INSERT OR REPLACE INTO vec VALUES (?, ?)",
                [(keys[i], fresh[j].tobytes()) for j, i in enumerate(missing)],
            )
            self.db.commit()
            found.update((keys[i], fresh[j]) for j, i in enumerate(missing))
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, self.dimensions), np.float32)
