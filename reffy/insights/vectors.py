"""Caches in the history store for the insights digest: question vectors and theme summaries.

Embedding is what a digest spends its time on, and people repeat themselves; a question's vector
is kept under a hash of the embedding model and its folded text (``question_vectors``, history
schema v4), so each distinct question is embedded once per model. LLM theme summaries are kept
under a hash of the model, the prompt version and the questions the model read
(``theme_summaries``), with their tokens and cost, so a rerun costs nothing.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from reffy.history import HistoryStore

_BATCH = 500  # keys per SELECT (SQLite's parameter limit is far above)


def _key(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\n{text}".encode()).hexdigest()[:40]


def cached_vectors(history: HistoryStore, embedder: Any, texts: list[str]) -> np.ndarray:
    """Unit float32 vectors for ``texts`` (one row each), embedding only those not cached yet."""
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    keys = [_key(embedder.model_id, t) for t in texts]
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(keys), _BATCH):
        chunk = keys[start : start + _BATCH]
        for row in history._rows(
            f"SELECT key, vector FROM question_vectors WHERE key IN ({','.join('?' * len(chunk))})", chunk
        ):
            found[row["key"]] = np.frombuffer(row["vector"], dtype=np.float32)
    missing = [i for i, k in enumerate(keys) if k not in found]
    if missing:
        vectors = np.asarray(embedder.embed([texts[i] for i in missing]), dtype=np.float32)
        now = history._now()
        rows = [(keys[i], vectors[j].tobytes(), now) for j, i in enumerate(missing)]

        def write(db: Any) -> None:
            db.conn.executemany(
                "INSERT OR REPLACE INTO question_vectors (key, vector, created_at) VALUES (?, ?, ?)", rows
            )

        history._write(write)
        for j, i in enumerate(missing):
            found[keys[i]] = vectors[j]
    dims = {len(v) for v in found.values()}
    if len(dims) != 1:  # a cache written by another model under a colliding key: embed afresh
        return np.asarray(embedder.embed(texts), dtype=np.float32)
    return np.stack([found[k] for k in keys])


def cached_summary(history: HistoryStore, key: str) -> str | None:
    rows = history._rows("SELECT summary FROM theme_summaries WHERE key = ?", [key])
    return rows[0]["summary"] if rows else None


def store_summary(history: HistoryStore, key: str, summary: str, reply: Any) -> None:
    row = {
        "key": key,
        "summary": summary,
        "model": reply.model,
        "tokens_in": reply.tokens_in,
        "tokens_out": reply.tokens_out,
        "cost_usd": reply.cost_usd,
        "created_at": history._now(),
    }
    history._write(lambda db: db.table("theme_summaries").upsert(row, pk="key"))
