"""Keeping the search indexes in step with gold.

Artefacts under ``REFFY_HOME``: ``index/docs.json`` (the story cards search returns
and filters on), ``index/stories.sqlite`` (full texts, chunks and rubric evidence for answering
and story pages; see docstore.py), ``index/bm25/`` (BM25 over title, facts, tags, summary and full text) and
``index/bm25_profile/`` (BM25 over the same facts and summary plus only the story's opening), and
the Chroma collections (per story one vector for its summary, one for its introduction, and
one per body chunk, with flattened metadata for filtering). ``index/manifest.json`` records what built them.

The vector side is incremental: vector ids are ``<story_id>::summary``, ``<story_id>::intro`` and
``<story_id>::chunk::<n>``, and story ids are content hashes, so new or edited stories are
embedded, stories gone from gold are deleted, and a story whose metadata changed (an
override, a rescoring) is re-embedded; nothing else is touched. BM25 is rebuilt from
memory (its idf is global; seconds even at 100k stories).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reffy import __version__
from reffy.config import Settings
from reffy.embedder import Embedder
from reffy.errors import ReffyError
from reffy.store.warehouse import open_warehouse

# 2: summaries and chunks in two collections (unfiltered queries take HNSW's fast path)
# 3: a third collection of story introductions (title, facts, abstract or opening paragraphs)
INDEX_FORMAT = 3
EMBED_BATCH = 64
PROFILE_BODY_CHARS = 3000  # the opening of a story: who, what and why, before the details
SUMMARY, INTRO, CHUNK = "summary", "intro", "chunk"
COLLECTIONS = {SUMMARY: "reffy_summaries", INTRO: "reffy_intros", CHUNK: "reffy_chunks"}


class IndexMissing(ReffyError):
    """No search index yet."""


class IndexStale(ReffyError):
    """The index was built with other settings than the current ones."""


@dataclass(slots=True)
class IndexSummary:
    stories: int = 0
    embedded_stories: int = 0
    vectors_added: int = 0
    stories_removed: int = 0
    relabelled_stories: int = 0
    vectors_total: int = 0
    keyword_seconds: float = 0.0
    embed_seconds: float = 0.0
    duration_s: float = 0.0
    rebuilt: bool = False


def vector_id(story_id: str, kind: str, n: int = 0) -> str:
    return f"{story_id}::{CHUNK}::{n}" if kind == CHUNK else f"{story_id}::{kind}"


def story_of(vector_id_: str) -> str:
    return vector_id_.split("::", 1)[0]


def kind_of(vector_id_: str) -> str:
    return next((kind for kind in (SUMMARY, INTRO) if vector_id_.endswith(f"::{kind}")), CHUNK)


class VectorStores:
    """The summary and chunk collections behind one small routing interface."""

    def __init__(self, settings: Settings) -> None:
        from reffy.retrieval.vector import VectorIndex

        self.by_kind = {kind: VectorIndex(settings, collection=name) for kind, name in COLLECTIONS.items()}

    def _split(self, ids):  # noqa: ANN001, ANN202
        groups: dict[str, list[int]] = {kind: [] for kind in COLLECTIONS}
        for i, vid in enumerate(ids):
            groups[kind_of(vid)].append(i)
        return groups

    def get_ids(self) -> list[str]:
        return [vid for index in self.by_kind.values() for vid in index.get_ids()]

    def delete(self, ids) -> None:  # noqa: ANN001
        for kind, rows in self._split(ids).items():
            if rows:
                self.by_kind[kind].delete(ids=[ids[i] for i in rows])

    def upsert(self, ids, vectors, metadatas) -> None:  # noqa: ANN001
        for kind, rows in self._split(ids).items():
            if rows:
                self.by_kind[kind].upsert([ids[i] for i in rows], vectors[rows], [metadatas[i] for i in rows])

    def get_vectors(self, ids):  # noqa: ANN001, ANN201
        import numpy as np

        got_ids, got = [], []
        for kind, rows in self._split(ids).items():
            if rows:
                i, v = self.by_kind[kind].get_vectors([ids[r] for r in rows])
                got_ids += i
                got.append(v)
        return got_ids, np.concatenate(got) if got else np.zeros((0, 0), dtype=np.float32)

    def reset(self) -> None:
        for index in self.by_kind.values():
            index.reset()

    def count(self) -> int:
        return sum(index.count() for index in self.by_kind.values())

    def set_manifest(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        for index in self.by_kind.values():
            index.set_manifest(*args, **kwargs)

    def close(self) -> None:
        for index in self.by_kind.values():
            index.close()


def keyword_text(doc: dict[str, Any], text: str) -> str:
    """What BM25 sees: the facts people search by, then the summary, then the whole story."""
    facts = [doc.get("customer") or "", doc.get("industry_name") or "", doc.get("country_name") or "",
             " ".join(t.replace("-", " ") for t in doc.get("tags") or []),
             " ".join(doc.get("products") or []), " ".join(doc.get("competitors") or [])]  # fmt: skip
    return "\n".join([*filter(None, facts), doc.get("summary") or "", text])


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _vector_meta(doc: dict[str, Any]) -> dict[str, Any]:
    """What the vector store filters on (changes here need no re-embedding)."""
    return {**{k: doc.get(k) for k in ("industry", "country", "products", "competitors", "tags", "year", "score",
                                        "shareability")}, "story_id": doc["story_id"]}  # fmt: skip


def load_gold(settings: Settings) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, list[tuple[int, str]]]]:
    """(story cards, full texts by story id, chunks by story id) from the warehouse. Each card's
    rubric breakdown travels under the private key ``_breakdown`` (for the docstore only), its
    introduction under ``_intro`` (for the intro vector only)."""
    from ingest.gold import build_intro, country_name
    from reffy.rubric import load_taxonomy

    names = {i.id: i.name for i in load_taxonomy(settings.taxonomy_path).industries}
    with open_warehouse(settings.db_path, must_exist=True) as con:
        cur = con.execute(
            "SELECT story_id, record_key, source_record_id, title, customer, industry, country, year, score,"
            " shareability, source_type, source_uri, source_link, products, competitors, tags, summary, outcomes,"
            " quotes, text, score_breakdown AS _breakdown, source_meta FROM gold_stories ORDER BY story_id"
        )
        cols = [d[0] for d in cur.description]
        docs, texts = [], {}
        for row in cur.fetchall():
            doc = dict(zip(cols, row, strict=True))
            texts[doc["story_id"]] = doc.pop("text")
            for key in ("products", "competitors", "tags", "outcomes", "quotes", "_breakdown"):
                doc[key] = json.loads(doc[key])
            doc["industry_name"] = names.get(doc["industry"]) if doc["industry"] else None
            doc["country_name"] = country_name(doc["country"])
            doc["_intro"] = build_intro(doc["title"], doc, json.loads(doc.pop("source_meta") or "{}"),
                                        doc["industry_name"], texts[doc["story_id"]])  # fmt: skip
            docs.append(doc)
        chunks: dict[str, list[tuple[int, str]]] = {}
        for sid, idx, text in con.execute("SELECT story_id, chunk_index, text FROM gold_chunks ORDER BY 1, 2").fetchall():
            chunks.setdefault(sid, []).append((idx, text))
    return docs, texts, chunks


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)


def build_manifest(settings: Settings, embedder: Embedder) -> dict[str, Any]:
    from ingest.gold import CHUNKER_VERSION
    from reffy.retrieval.text import TOKENIZER_VERSION

    # embedder_backend/embedder_artifact say what computed the vectors; any backend of the same
    # model_id serves them, so neither is part of the compatibility checks
    return {"format": INDEX_FORMAT, "embedder": embedder.model_id, "dimensions": embedder.dimensions,
            "embedder_backend": getattr(embedder, "backend", ""), "embedder_artifact": getattr(embedder, "artifact", ""),
            "tokenizer": TOKENIZER_VERSION, "chunker": CHUNKER_VERSION, "reffy_version": __version__}  # fmt: skip


def sync_indexes(settings: Settings, embedder: Embedder, *, rebuild: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> IndexSummary:  # fmt: skip
    """Bring BM25, the docstore and the vector collection in line with gold."""
    from reffy.retrieval.keyword import KeywordIndex
    from reffy.retrieval.vector import flatten_metadata

    started = time.perf_counter()
    summary = IndexSummary(rebuilt=rebuild)
    docs, texts, chunks = load_gold(settings)
    summary.stories = len(docs)
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    wanted = build_manifest(settings, embedder)
    manifest_path = settings.index_dir / "manifest.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    same_setup = all(old.get(k) == wanted[k] for k in ("format", "embedder", "dimensions", "chunker"))

    t = time.perf_counter()
    ids, titles = [d["story_id"] for d in docs], [{"title": d["title"]} for d in docs]
    # Two BM25 views: the full text (every detail, for known items) and the story's profile
    # (facts, tags, summary and its opening), where long bodies cannot drown the theme.
    from reffy.retrieval.docstore import write_docstore

    breakdowns = {d["story_id"]: d.pop("_breakdown") for d in docs}
    intros = {d["story_id"]: d.pop("_intro") for d in docs}
    write_docstore(settings.index_dir, ((sid, texts[sid], breakdowns[sid], chunks.get(sid, [])) for sid in ids))
    KeywordIndex().build(ids, [keyword_text(d, texts[d["story_id"]]) for d in docs], fields=titles).save(
        settings.index_dir / "bm25")
    KeywordIndex().build(ids, [keyword_text(d, texts[d["story_id"]][:PROFILE_BODY_CHARS]) for d in docs],
                         fields=titles).save(settings.index_dir / "bm25_profile")  # fmt: skip
    _write_json(settings.index_dir / "docs.json", docs)
    summary.keyword_seconds = time.perf_counter() - t

    vectors = VectorStores(settings)
    try:
        if rebuild or not same_setup:
            vectors.reset()
            state: dict[str, dict[str, str]] = {}
            summary.rebuilt = True
        else:
            state = json.loads((settings.index_dir / "vectors.json").read_text()) \
                if (settings.index_dir / "vectors.json").exists() else {}  # fmt: skip
        present: dict[str, list[str]] = {}
        for vid in vectors.get_ids():
            present.setdefault(story_of(vid), []).append(vid)
        by_id = {d["story_id"]: d for d in docs}
        gone = [sid for sid in present if sid not in by_id]
        if gone:
            vectors.delete(ids=[vid for sid in gone for vid in present[sid]])
            summary.stories_removed = len(gone)
        def content_hash(sid: str) -> str:
            return _hash([by_id[sid]["summary"], intros[sid], chunks.get(sid, [])])

        todo, relabel = [], []
        for sid in by_id:
            seen = state.get(sid) if isinstance(state.get(sid), dict) else None
            expected = {vector_id(sid, SUMMARY), vector_id(sid, INTRO),
                        *(vector_id(sid, CHUNK, n) for n, _ in chunks.get(sid, []))}  # fmt: skip
            if seen is None and set(present.get(sid, ())) == expected:
                # vectors without a state entry (state file lost or from an older Reffy): the
                # story id is a content hash, so adopt them; `reffy index --rebuild` re-embeds.
                seen = {"content": content_hash(sid), "meta": ""}
                state[sid] = seen
            seen = seen or {}
            if sid not in present or seen.get("content") != content_hash(sid):
                todo.append(sid)
            elif seen.get("meta") != _hash(_vector_meta(by_id[sid])):
                relabel.append(sid)
        stale = [vid for sid in todo if sid in present for vid in present[sid]]
        if stale:
            vectors.delete(ids=stale)
        for sid in relabel:  # metadata changed (override, rescoring): keep the vectors
            ids, vecs = vectors.get_vectors(present[sid])
            meta = _vector_meta(by_id[sid])
            kinds = [kind_of(i) for i in ids]
            vectors.upsert(ids, vecs, [flatten_metadata({**meta, "kind": kind}) for kind in kinds])
            state[sid] = {"content": content_hash(sid), "meta": _hash(meta)}
        items: list[tuple[str, str, dict[str, Any]]] = []
        for sid in todo:
            meta = _vector_meta(by_id[sid])
            items.append((vector_id(sid, SUMMARY), by_id[sid]["summary"], flatten_metadata({**meta, "kind": SUMMARY})))
            items.append((vector_id(sid, INTRO), intros[sid], flatten_metadata({**meta, "kind": INTRO})))
            for n, text in chunks.get(sid, []):
                items.append((vector_id(sid, CHUNK, n), text, flatten_metadata({**meta, "kind": CHUNK})))
        t = time.perf_counter()
        state_path = settings.index_dir / "vectors.json"
        for batch_no, start in enumerate(range(0, len(items), EMBED_BATCH)):
            batch = items[start : start + EMBED_BATCH]
            vecs = embedder.embed([text for _, text, _ in batch])
            vectors.upsert([i for i, _, _ in batch], vecs, [m for _, _, m in batch])
            done = {story_of(i) for i, _, _ in batch}
            if start + EMBED_BATCH < len(items):  # a story whose chunks continue in the next batch is not done
                done.discard(story_of(items[start + EMBED_BATCH][0]))
            for sid in done:
                state[sid] = {"content": content_hash(sid), "meta": _hash(_vector_meta(by_id[sid]))}
            if batch_no % 20 == 19:
                _write_json(state_path, state)  # a killed build resumes where it stopped
            if progress:
                progress(min(start + EMBED_BATCH, len(items)), len(items))
        summary.embed_seconds = time.perf_counter() - t
        for sid in gone:
            state.pop(sid, None)
        summary.embedded_stories, summary.vectors_added = len(todo), len(items)
        summary.relabelled_stories = len(relabel)
        vectors.set_manifest(embedder.model_id, embedder.dimensions, wanted["chunker"])
        summary.vectors_total = vectors.count()
        _write_json(state_path, state)
    finally:
        vectors.close()
    _write_json(manifest_path, {**wanted, "stories": len(docs), "vectors": summary.vectors_total,
                                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})  # fmt: skip
    summary.duration_s = time.perf_counter() - started
    return summary
