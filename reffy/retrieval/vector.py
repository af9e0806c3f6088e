"""The dense index: story/chunk vectors in a Chroma collection, queried by cosine.

Embedded (``PersistentClient`` at ``settings.home / "chroma"``) by default, or a Chroma
server when a URL is given (``REFFY_CHROMA_URL``). Vectors always come from Reffy's own
:class:`~reffy.embedder.Embedder`: the collection has no embedding function, so Chroma
never loads (or downloads) its default model.

Metadata encoding (what :func:`flatten_metadata` writes and :func:`where_for` queries):
scalars as they are (``industry``, ``country``, ``shareability``, ``year`` int,
``quality`` int = rubric score, 0 when unknown); multi-valued fields as Chroma 1.5
list metadata (``products``, ``competitors``, ``tags``), matched with ``$contains``.
A missing value is an *absent key* (Chroma rejects None and empty lists), and
a condition on an absent key never matches: that gives "no year fails any year filter"
for free. The encoding is checked against :meth:`SearchFilters.matches` in the tests.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import numpy as np

from reffy.errors import ConfigError, ReffyError, VectorIndexMismatch
from reffy.retrieval.types import SearchFilters
from reffy.wording import sentence

EF_SEARCH = 400  # HNSW search breadth: above the largest k we ask for, so approximate ~ exact
MANIFEST_KEY = "reffy_manifest"  # collection metadata: JSON, so it travels with a server too
LIST_KEYS = {"products": "products", "competitors": "competitors", "tags": "tags"}
_SCALARS = (str, int, float, bool)
_DEFAULT_BATCH = 5000


def flatten_metadata(doc: dict[str, Any]) -> dict[str, Any]:
    """A story dict -> Chroma metadata, in exactly the encoding :func:`where_for` expects.

    Known keys: industry, country, products, competitors, tags, year, score (stored as
    ``quality``), shareability. Other scalar keys (story_id, kind, ...) pass through;
    None values are dropped; other non-scalars are an error."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or key in ("score", "quality", "year"):
            continue
        if key in LIST_KEYS:
            values = sorted({str(v) for v in value if v is not None and v != ""})
            if values:  # Chroma rejects empty lists: absent means "none"
                out[LIST_KEYS[key]] = values
        elif isinstance(value, _SCALARS):
            out[key] = value
        else:
            raise ValueError(f"metadata {key!r} must be a scalar, got {type(value).__name__}")
    if doc.get("year") is not None:
        out["year"] = int(doc["year"])
    out["quality"] = int(doc.get("score") or doc.get("quality") or 0)  # matches(): missing score counts as 0
    return out


def _all(conditions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Chroma rejects ``$and``/``$or`` with fewer than two operands."""
    return None if not conditions else conditions[0] if len(conditions) == 1 else {"$and": conditions}


def _any(conditions: list[dict[str, Any]]) -> dict[str, Any]:
    return conditions[0] if len(conditions) == 1 else {"$or": conditions}


def where_for(filters: SearchFilters | None) -> dict[str, Any] | None:
    """SearchFilters -> a Chroma ``where`` clause with the same meaning as ``filters.matches``
    over :func:`flatten_metadata` output (None when there is nothing to filter)."""
    if filters is None:
        return None
    conds: list[dict[str, Any]] = []
    for key, values in (("industry", filters.industry), ("country", filters.country)):
        if values:
            conds.append({key: {"$in": list(values)}})
    for key, values in (("products", filters.product), ("competitors", filters.competitor), ("tags", filters.tags_any)):
        if values:
            conds.append(_any([{key: {"$contains": v}} for v in dict.fromkeys(values)]))
    conds.extend({"tags": {"$contains": v}} for v in dict.fromkeys(filters.tags_all))
    if filters.year_min is not None:
        conds.append({"year": {"$gte": int(filters.year_min)}})
    if filters.year_max is not None:
        conds.append({"year": {"$lte": int(filters.year_max)}})
    if filters.min_score is not None:
        conds.append({"quality": {"$gte": int(filters.min_score)}})
    if filters.shareability:
        conds.append({"shareability": {"$eq": filters.shareability}})
    if filters.audience:
        conds.append({"audience": {"$in": ["all", filters.audience]}})
    return _all(conds)


def _client(path: str | None, url: str | None):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if url:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"REFFY_CHROMA_URL {url!r} is not a URL; use e.g. http://127.0.0.1:8000")
        port = parsed.port or (443 if parsed.scheme == "https" else 8000)
        return chromadb.HttpClient(
            host=parsed.hostname, port=port, ssl=parsed.scheme == "https", settings=chroma_settings
        )
    if path is None:
        raise ConfigError("A local vector index needs a path (or set REFFY_CHROMA_URL to a Chroma server).")
    return chromadb.PersistentClient(path=path, settings=chroma_settings)


class VectorIndex:
    """One Chroma collection of unit vectors with flattened story metadata."""

    def __init__(self, settings: Any, collection: str = "reffy_gold", url: str | None = None) -> None:
        self.url = url or getattr(settings, "chroma_url", None)
        self.path = None if self.url else settings.home / "chroma"
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
        self.name = collection
        try:
            self.client = _client(str(self.path) if self.path else None, self.url)
            self._collection = self._open()
        except ReffyError:
            raise
        except Exception as exc:  # connection refused, bad server: say where and how to fix
            where = self.url or self.path
            raise ConfigError(
                f"Cannot open the Chroma collection {collection!r} at {where}: {sentence(exc)} "
                "Check that the Chroma server is running (REFFY_CHROMA_URL) or unset it to use the local store."
            ) from exc
        batch = self.client.get_max_batch_size()
        self.batch_size = min(batch, _DEFAULT_BATCH) if batch and batch > 0 else _DEFAULT_BATCH

    def _open(self):
        collection = self.client.get_or_create_collection(
            self.name, configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH}}, embedding_function=None
        )
        config = collection.configuration or {}
        hnsw = config.get("hnsw") or {}
        self.space = (hnsw or config.get("spann") or {}).get("space") or "cosine"
        if hnsw and hnsw.get("ef_search") != EF_SEARCH:  # collections made by older Reffy versions
            collection.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
        return collection

    def _check_space(self) -> None:
        """An existing collection keeps the space it was made with; only reset() changes it."""
        if self.space != "cosine":
            raise VectorIndexMismatch(
                f"The Chroma collection {self.name!r} uses {self.space!r} distance, not cosine. "
                "Rebuild the index (`reffy index --rebuild`) or choose another collection."
            )

    # -- writing ------------------------------------------------------------------------

    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        metadatas: Sequence[dict[str, Any]],
        documents: Sequence[str] | None = None,
    ) -> None:
        """Insert or replace (vector and metadata; a document only when given), in batches
        Chroma accepts. Metadata must already be flat (:func:`flatten_metadata`)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(ids) or len(metadatas) != len(ids):
            raise ValueError("ids, vectors (2-D) and metadatas must have the same length")
        if documents is not None and len(documents) != len(ids):
            raise ValueError("documents must have one entry per id")
        if not len(ids):
            return
        self._check_space()
        dims = self.manifest.get("dimensions")
        if dims and vectors.shape[1] != int(dims):
            raise VectorIndexMismatch(
                f"Vectors have {vectors.shape[1]} dimensions but the collection {self.name!r} holds "
                f"{dims} ({self.manifest.get('model_id')}). After changing models, rebuild the index "
                "(`reffy index --rebuild`)."
            )
        for start in range(0, len(ids), self.batch_size):
            end = start + self.batch_size
            batch = list(ids[start:end])
            # Chroma's upsert *merges* metadata into an existing record; a key set to None is
            # removed. Null the keys the new metadata lacks so an update is a replace (a story
            # that lost a tag must stop matching it).
            old = self._collection.get(ids=batch, include=["metadatas"])
            stale = {i: set(m or {}) for i, m in zip(old["ids"], old["metadatas"] or [], strict=True)}
            metas = []
            for doc_id, meta in zip(batch, metadatas[start:end], strict=True):
                meta = {**dict.fromkeys(stale.get(doc_id, set()) - set(meta)), **meta}
                metas.append(meta or None)  # Chroma rejects {}
            self._collection.upsert(
                ids=batch,
                embeddings=vectors[start:end],
                metadatas=metas,
                documents=list(documents[start:end]) if documents is not None else None,
            )

    def delete(self, ids: Sequence[str] | None = None, where: dict[str, Any] | None = None) -> None:
        """Delete by ids and/or a where clause (both: the intersection). Use :meth:`reset` to empty."""
        if ids is None and where is None:
            raise ValueError("delete needs ids or where; use reset() to remove everything")
        if ids is not None:
            ids = list(ids)
            for start in range(0, len(ids), self.batch_size):
                self._collection.delete(ids=ids[start : start + self.batch_size], where=where)
        else:
            self._collection.delete(where=where)

    def reset(self) -> None:
        """Drop the collection (vectors, metadata, manifest) and start an empty one."""
        with contextlib.suppress(Exception):  # already gone (e.g. another process reset it)
            self.client.delete_collection(self.name)
        self._collection = self._open()

    # -- reading ------------------------------------------------------------------------

    def query(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float, dict[str, Any]]]:
        """Top ``k`` (id, cosine similarity, metadata), most similar first. The filter runs
        inside Chroma's search, so k matching items come back when k exist."""
        if k <= 0:
            return []
        self._check_space()
        vec = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        result = self._collection.query(
            query_embeddings=vec, n_results=k, where=where, include=["distances", "metadatas"]
        )
        ids, dists, metas = result["ids"][0], result["distances"][0], result["metadatas"][0]
        return [(i, 1.0 - float(d), dict(m or {})) for i, d, m in zip(ids, dists, metas, strict=True)]

    def get_ids(self, where: dict[str, Any] | None = None) -> list[str]:
        """All ids (matching ``where``), paged so large collections do not load at once."""
        out: list[str] = []
        offset, page = 0, 10_000
        while True:
            got = self._collection.get(where=where, include=[], limit=page, offset=offset)["ids"]
            out.extend(got)
            if len(got) < page:
                return out
            offset += page

    def get_vectors(self, ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """Stored vectors by id (for metadata-only updates that must not re-embed)."""
        got = self._collection.get(ids=list(ids), include=["embeddings"])
        return list(got["ids"]), np.asarray(got["embeddings"], dtype=np.float32)

    def count(self) -> int:
        return self._collection.count()

    def close(self) -> None:
        """Release the client (the embedded store's SQLite handles)."""
        self.client.close()

    # -- manifest -----------------------------------------------------------------------

    @property
    def manifest(self) -> dict[str, Any]:
        """What built these vectors (model_id, dimensions, chunker_version, reffy_version,
        built_at); {} for a fresh collection. Kept in the collection's own metadata so it
        is never out of step with the vectors, embedded or on a server."""
        raw = (self._collection.metadata or {}).get(MANIFEST_KEY)
        return json.loads(raw) if raw else {}

    @manifest.setter
    def manifest(self, value: dict[str, Any]) -> None:
        """Record what built the vectors (call after a (re)build); reffy_version and built_at
        are filled in when absent."""
        from reffy import __version__

        manifest = {"reffy_version": __version__, "built_at": datetime.now(UTC).isoformat(timespec="seconds")}
        manifest.update(value)
        self._collection.modify(metadata={MANIFEST_KEY: json.dumps(manifest)})
        self._collection = self.client.get_collection(self.name)  # re-read: metadata is cached client-side

    def set_manifest(self, model_id: str, dimensions: int, chunker_version: str, **extra: Any) -> dict[str, Any]:
        """The usual manifest, from the embedder's ``model_id``/``dimensions`` and the chunker."""
        self.manifest = {"model_id": model_id, "dimensions": int(dimensions), "chunker_version": chunker_version}
        if extra:
            self.manifest = {**self.manifest, **extra}
        return self.manifest

    def check_manifest(self, model_id: str, dimensions: int) -> None:
        """Raise when the collection was built by another embedding model (queries would be noise)."""
        m = self.manifest
        if m and (m.get("model_id") != model_id or int(m.get("dimensions", dimensions)) != dimensions):
            raise VectorIndexMismatch(
                f"The vector index {self.name!r} was built with {m.get('model_id')} ({m.get('dimensions')} dims); "
                f"the embedder is {model_id} ({dimensions} dims). Rebuild the index (`reffy index --rebuild`)."
            )
