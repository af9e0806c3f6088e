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
memory (its idf is global; seconds even at 100k stories) - unless gold has not changed since the
last build: the manifest records a fingerprint of everything the keyword side is made from, and a
no-op ``reffy index`` (or ``reffy run`` of an unchanged library) leaves it, and the index
generation, untouched, so running servers have nothing to reload.

Size: the incremental index build (gold cards, keyword views, vector diff, state for resumption,
manifest); the layout it writes is reffy/retrieval/layout.py.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reffy import __version__
from reffy.config import Settings
from reffy.embedder import Embedder
from reffy.errors import GoldOutdated, IndexIncomplete, IndexMissing, IndexStale
from reffy.retrieval.layout import (
    BELOW,
    BM25_FULL,
    BM25_PROFILE,
    CHUNK,
    COLLECTIONS,
    COMPATIBLE_FORMATS,
    DOCS,
    INDEX_FORMAT,
    INTRO,
    MANIFEST,
    SUMMARY,
    VECTOR_STATE,
    VECTORS_BUILDING,
    VECTORS_COMPLETE,
    builder_stamp,
    kind_of,
    read_manifest,
    story_of,
    vector_id,
    write_json,
)
from reffy.retrieval.repetition import without_repetition
from reffy.store.warehouse import open_warehouse
from reffy.wording import plural

EMBED_BATCH = 64
PROFILE_BODY_CHARS = 3000  # the opening of a story: who, what and why, before the details
# What the keyword side is computed with, beyond gold itself: bump it when keyword_text, the
# repetition filter, the docstore or the BM25 views change, so a no-op index rebuilds them once.
KEYWORD_SIDE_VERSION = 1

__all__ = [
    "CHUNK",
    "COLLECTIONS",
    "INDEX_FORMAT",
    "INTRO",
    "SUMMARY",
    "IndexMissing",
    "IndexStale",
    "IndexSummary",
    "kind_of",
    "story_of",
    "sync_indexes",
    "vector_id",
]


@dataclass(slots=True)
class IndexSummary:
    stories: int = 0
    embedded_stories: int = 0
    vectors_added: int = 0
    stories_removed: int = 0
    relabelled_stories: int = 0
    vectors_total: int = 0
    keyword_seconds: float = 0.0
    keyword_unchanged: bool = False  # gold had not changed: the keyword side was kept as it was
    embed_seconds: float = 0.0
    duration_s: float = 0.0
    rebuilt: bool = False


class VectorStores:
    """The summary and chunk collections behind one small routing interface."""

    def __init__(self, settings: Settings) -> None:
        from reffy.retrieval.vector import VectorIndex

        self.by_kind = {kind: VectorIndex(settings, collection=name) for kind, name in COLLECTIONS.items()}

    def _split(self, ids):
        groups: dict[str, list[int]] = {kind: [] for kind in COLLECTIONS}
        for i, vid in enumerate(ids):
            groups[kind_of(vid)].append(i)
        return groups

    def get_ids(self) -> list[str]:
        return [vid for index in self.by_kind.values() for vid in index.get_ids()]

    def delete(self, ids) -> None:
        for kind, rows in self._split(ids).items():
            if rows:
                self.by_kind[kind].delete(ids=[ids[i] for i in rows])

    def upsert(self, ids, vectors, metadatas) -> None:
        for kind, rows in self._split(ids).items():
            if rows:
                self.by_kind[kind].upsert([ids[i] for i in rows], vectors[rows], [metadatas[i] for i in rows])

    def get_vectors(self, ids):
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

    def set_manifest(self, *args, **kwargs) -> None:
        for index in self.by_kind.values():
            index.set_manifest(*args, **kwargs)

    def close(self) -> None:
        for index in self.by_kind.values():
            index.close()


def keyword_text(doc: dict[str, Any], text: str) -> str:
    """What BM25 sees: the facts people search by, then the summary, then the whole story."""
    facts = [
        doc.get("customer") or "",
        doc.get("industry_name") or "",
        doc.get("country_name") or "",
        " ".join(t.replace("-", " ") for t in doc.get("tags") or []),
        " ".join(doc.get("products") or []),
        " ".join(doc.get("competitors") or []),
    ]
    return "\n".join([*filter(None, facts), without_repetition(doc.get("summary") or ""), without_repetition(text)])


def keyword_fingerprint(
    wanted: dict[str, Any],
    docs: list[dict[str, Any]],
    texts: dict[str, str],
    chunks: dict[str, list[tuple[int, str]]],
    breakdowns: dict[str, Any],
    below: list[dict[str, Any]] | None = None,
) -> str:
    """A hash of everything the keyword side (docstore, BM25 views, story cards, the stories
    under the threshold) is computed from: the gold stories as loaded, their texts, chunks and
    evidence, and the code versions."""
    digest = hashlib.sha256(
        json.dumps(
            [
                KEYWORD_SIDE_VERSION,
                wanted.get("format"),
                wanted.get("tokenizer"),
                wanted.get("chunker"),
                __version__,
                below or [],
            ],
            sort_keys=True,
            default=str,
        ).encode()
    )
    for doc in docs:
        sid = doc["story_id"]
        digest.update(json.dumps([doc, breakdowns.get(sid), chunks.get(sid, [])], sort_keys=True, default=str).encode())
        digest.update(texts[sid].encode())
    return digest.hexdigest()[:32]


def _keyword_side_present(index_dir: Path) -> bool:
    from reffy.retrieval.docstore import FILENAME

    return all((index_dir / name).exists() for name in (DOCS, BELOW, FILENAME, BM25_FULL, BM25_PROFILE))


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _vector_meta(doc: dict[str, Any]) -> dict[str, Any]:
    """What the vector store filters on (changes here need no re-embedding)."""
    return {
        **{
            k: doc.get(k)
            for k in ("industry", "country", "products", "competitors", "tags", "year", "score", "shareability")
        },
        "audience": doc.get("audience") or "all",
        "story_id": doc["story_id"],
    }


def load_gold(settings: Settings) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, list[tuple[int, str]]]]:
    """(story cards, full texts by story id, chunks by story id) from the warehouse, as the gold
    build wrote them: the indexer computes nothing from pipeline code. Each card's rubric
    breakdown travels under the private key ``_breakdown`` (for the docstore only), its
    introduction under ``_intro`` (for the intro vector only)."""
    with open_warehouse(settings.db_path, must_exist=True) as con:
        cur = con.execute(
            "SELECT story_id, record_key, source_record_id, title, customer, industry, industry_name, country,"
            " country_name, year, score, shareability, source_type, source_uri, source_link, products, competitors,"
            " tags, summary, outcomes, quotes, text, score_breakdown AS _breakdown, industry_label, intro AS _intro,"
            " coalesce(audience, 'all') AS audience, chunker FROM gold_stories ORDER BY story_id"
        )
        cols = [d[0] for d in cur.description]
        docs, texts = [], {}
        for row in cur.fetchall():
            doc = dict(zip(cols, row, strict=True))
            if doc["_intro"] is None or doc.pop("chunker") is None:
                raise GoldOutdated(
                    "The library was built by an older Reffy, before gold recorded what search needs: "
                    "run `reffy build`, then `reffy index`."
                )
            texts[doc["story_id"]] = doc.pop("text")
            for key in ("products", "competitors", "tags", "outcomes", "quotes", "_breakdown"):
                doc[key] = json.loads(doc[key])
            docs.append(doc)
        chunks: dict[str, list[tuple[int, str]]] = {}
        for sid, idx, text in con.execute(
            "SELECT story_id, chunk_index, text FROM gold_chunks ORDER BY 1, 2"
        ).fetchall():
            chunks.setdefault(sid, []).append((idx, text))
    return docs, texts, chunks


def load_below(settings: Settings) -> list[dict[str, Any]]:
    """The stories the last gold build left under the score threshold that have a customer name
    (analysts find them by it; search never ranks them). No server paths: the file is served."""
    cols = ("story_id", "title", "customer", "score", "min_score", "shareability")
    with open_warehouse(settings.db_path, must_exist=True) as con:
        rows = con.execute(
            f"SELECT {', '.join(cols)} FROM gold_below WHERE customer IS NOT NULL ORDER BY story_id"
        ).fetchall()
    return [dict(zip(cols, r, strict=True)) for r in rows]


def gold_chunker(settings: Settings) -> str | None:
    """How the gold chunks were cut (the gold build's CHUNKER_VERSION), None when gold is empty."""
    with open_warehouse(settings.db_path, must_exist=True) as con:
        row = con.execute("SELECT max(chunker) FROM gold_stories").fetchone()
    return row[0] if row else None


def build_manifest(settings: Settings, embedder: Embedder, chunker: str | None = None) -> dict[str, Any]:
    """What this build is made of (``chunker``: how gold's chunks were cut, as gold records it).
    Reads no model: the embedder's dimensions are added once it has loaded (after the keyword
    side is published, so keyword search never waits for a model)."""
    from reffy.retrieval.text import TOKENIZER_VERSION

    return {
        "format": INDEX_FORMAT,
        "embedder": embedder.model_id,
        "tokenizer": TOKENIZER_VERSION,
        "chunker": chunker if chunker is not None else gold_chunker(settings),
        "vector_chunks": settings.vector_chunks,
        "reffy_version": __version__,
    }


def vector_chunks(chunks: dict[str, list[tuple[int, str]]], cap: int | None) -> dict[str, list[tuple[int, str]]]:
    """The chunks that get a vector: a story's first ``cap`` (all when ``cap`` is None), without
    repetitive text (keyword stuffing; a chunk that is nothing else gets no vector)."""
    out = {}
    for sid, story_chunks in chunks.items():
        kept = [(n, without_repetition(text)) for n, text in story_chunks if cap is None or n < cap]
        out[sid] = [(n, text) for n, text in kept if text.strip()]
    return out


def _embedder_facts(embedder: Embedder) -> dict[str, Any]:
    """Dimensions and exactly which computation made the vectors (backend and model artefact hash)."""
    return {
        "dimensions": embedder.dimensions,
        "embedder_backend": getattr(embedder, "backend", ""),
        "embedder_artifact": getattr(embedder, "artifact", ""),
    }


def _same_setup(old: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether the stored vectors can be kept: same embedding model and chunker (the backend that
    computed them, torch or ONNX, gives the same vectors and does not count)."""
    return old.get("format") in COMPATIBLE_FORMATS and all(old.get(k) == wanted[k] for k in ("embedder", "chunker"))


def sync_indexes(
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: Callable[[int, int], None] | None = None,
    on_keyword_ready: Callable[[], None] | None = None,
) -> IndexSummary:
    """Bring BM25, the docstore and the vector collections in line with gold.

    The keyword side is written first and published (manifest ``vectors: building``), so keyword
    search works while vectors are computed; ``on_keyword_ready`` is called at that point. When
    nothing changed (same gold, complete vectors) nothing is written and it is not called."""
    started = time.perf_counter()
    summary = IndexSummary(rebuilt=rebuild)
    docs, texts, chunks = load_gold(settings)
    below = load_below(settings)
    summary.stories = len(docs)
    index_dir = settings.index_dir
    index_dir.mkdir(parents=True, exist_ok=True)
    wanted = build_manifest(settings, embedder)
    old = read_manifest(index_dir)
    if old.get("no_answer"):  # the library's calibration (`reffy tune`) outlives index updates
        wanted["no_answer"] = old["no_answer"]
    rebuild = rebuild or not _same_setup(old, wanted)
    generation = int(old.get("generation", 0))

    t = time.perf_counter()
    breakdowns = {d["story_id"]: d.pop("_breakdown") for d in docs}
    intros = {d["story_id"]: d.pop("_intro") for d in docs}
    fingerprint = keyword_fingerprint(wanted, docs, texts, chunks, breakdowns, below)
    unchanged = not rebuild and old.get("keyword_fingerprint") == fingerprint and _keyword_side_present(index_dir)
    if not unchanged:
        _write_keyword_side(index_dir, docs, texts, chunks, breakdowns)
        write_json(index_dir / BELOW, below)
    summary.keyword_seconds, summary.keyword_unchanged = time.perf_counter() - t, unchanged
    wanted["keyword_fingerprint"] = fingerprint

    vectors = VectorStores(settings)
    chunks = vector_chunks(chunks, settings.vector_chunks)
    try:
        plan = _plan_vectors(settings, vectors, docs, intros, chunks, rebuild=rebuild)
        summary.rebuilt = rebuild
        expected = sum(2 + len(chunks.get(d["story_id"], [])) for d in docs)
        nothing_to_do = unchanged and not (plan.todo or plan.relabel or plan.gone)
        if nothing_to_do and old.get("vectors") == VECTORS_COMPLETE and old.get("vector_count") == expected:
            summary.vectors_total = vectors.count()
            if summary.vectors_total == expected:  # gold, the keyword side and the vectors are as they were
                summary.duration_s = time.perf_counter() - started
                return summary
        generation += 1
        write_json(
            index_dir / MANIFEST,
            {
                **wanted,
                "stories": len(docs),
                "vectors": VECTORS_BUILDING if plan.todo else VECTORS_COMPLETE,
                "stories_pending": len(plan.todo),
                "rebuilding": rebuild,
                "generation": generation,
                "built_at": _now(),
                **(builder_stamp() if plan.todo else {}),
            },
        )
        if on_keyword_ready:
            on_keyword_ready()
        _apply_plan(plan, vectors, embedder, summary, progress=progress)
        wanted.update(_embedder_facts(embedder))
        vectors.set_manifest(embedder.model_id, wanted["dimensions"], wanted["chunker"])
        summary.vectors_total = vectors.count()
    finally:
        vectors.close()
    if summary.vectors_total != expected:  # never publish a hole: the next `reffy index` repairs it
        raise IndexIncomplete(
            f"The vector store holds {plural(summary.vectors_total, 'vector')}, not the {expected} gold needs: "
            "run `reffy index` again (or `reffy index --rebuild`)."
        )
    write_json(
        index_dir / MANIFEST,
        {
            **wanted,
            "stories": len(docs),
            "vectors": VECTORS_COMPLETE,
            "stories_pending": 0,
            "vector_count": summary.vectors_total,
            "generation": generation + 1,
            "built_at": _now(),
        },
    )
    summary.duration_s = time.perf_counter() - started
    return summary


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write_keyword_side(
    index_dir: Path,
    docs: list[dict[str, Any]],
    texts: dict[str, str],
    chunks: dict[str, list[tuple[int, str]]],
    breakdowns: dict[str, Any],
) -> None:
    """The docstore, two BM25 views and the story cards: everything keyword search needs.
    Two BM25 views: the full text (every detail, for known items) and the story's profile
    (facts, tags, summary and its opening), where long bodies cannot drown the theme."""
    from reffy.retrieval.docstore import write_docstore
    from reffy.retrieval.keyword import KeywordIndex

    ids, titles = [d["story_id"] for d in docs], [{"title": d["title"]} for d in docs]
    write_docstore(index_dir, ((sid, texts[sid], breakdowns[sid], chunks.get(sid, [])) for sid in ids))
    KeywordIndex().build(ids, [keyword_text(d, texts[d["story_id"]]) for d in docs], fields=titles).save(
        index_dir / BM25_FULL
    )
    KeywordIndex().build(
        ids, [keyword_text(d, texts[d["story_id"]][:PROFILE_BODY_CHARS]) for d in docs], fields=titles
    ).save(index_dir / BM25_PROFILE)
    write_json(index_dir / DOCS, docs)


@dataclass(slots=True)
class _VectorPlan:
    state_path: Path
    state: dict[str, dict[str, str]]
    todo: list[str]
    relabel: dict[str, list[str]]  # story id -> its vector ids (metadata changed, content did not)
    gone: list[str]
    items: list[tuple[str, str, dict[str, Any]]]  # (vector id, text, metadata) to embed
    hashes: dict[str, dict[str, str]]  # story id -> {"content", "meta"} as they are now


def _plan_vectors(
    settings: Settings,
    vectors: VectorStores,
    docs: list[dict[str, Any]],
    intros: dict[str, str],
    chunks: dict[str, list[tuple[int, str]]],
    *,
    rebuild: bool,
) -> _VectorPlan:
    """What to embed (new or changed), relabel (only metadata changed) and delete (left gold).

    ``vectors.json`` maps each story to the hashes of its embedded content and metadata; it is
    written every few batches, so a killed build resumes. It is only trusted for stories whose
    vectors are all present in the store: the store is the truth, the state a cache of hashes."""
    from reffy.retrieval.vector import flatten_metadata

    state_path = settings.index_dir / VECTOR_STATE
    state: dict[str, dict[str, str]] = {}
    if rebuild:
        vectors.reset()
        write_json(state_path, {})  # before any vector: a killed rebuild must not leave the old state behind
    elif state_path.exists():
        try:
            state = json.loads(state_path.read_text())
        except json.JSONDecodeError:
            state = {}
    present: dict[str, list[str]] = {}
    for vid in vectors.get_ids():
        present.setdefault(story_of(vid), []).append(vid)
    by_id = {d["story_id"]: d for d in docs}
    hashes = {
        sid: {
            "content": _hash([by_id[sid]["summary"], intros[sid], chunks.get(sid, [])]),
            "meta": _hash(_vector_meta(by_id[sid])),
        }
        for sid in by_id
    }
    gone = [sid for sid in present if sid not in by_id]
    todo, relabel = [], {}
    for sid in by_id:
        expected = {
            vector_id(sid, SUMMARY),
            vector_id(sid, INTRO),
            *(vector_id(sid, CHUNK, n) for n, _ in chunks.get(sid, [])),
        }
        complete = set(present.get(sid, ())) == expected
        seen = state.get(sid) if isinstance(state.get(sid), dict) and complete else None
        if seen is None and complete:
            # vectors without a state entry (state file lost or from an older Reffy): the
            # story id is a content hash, so adopt them; `reffy index --rebuild` re-embeds.
            seen = state[sid] = {"content": hashes[sid]["content"], "meta": ""}
        if seen is None or seen.get("content") != hashes[sid]["content"]:
            todo.append(sid)
        elif seen.get("meta") != hashes[sid]["meta"]:
            relabel[sid] = present[sid]
    items: list[tuple[str, str, dict[str, Any]]] = []
    for sid in todo:
        meta = _vector_meta(by_id[sid])
        summary = without_repetition(by_id[sid]["summary"] or "") or by_id[sid]["title"]
        items.append((vector_id(sid, SUMMARY), summary, flatten_metadata({**meta, "kind": SUMMARY})))
        items.append(
            (
                vector_id(sid, INTRO),
                without_repetition(intros[sid]) or by_id[sid]["title"],
                flatten_metadata({**meta, "kind": INTRO}),
            )
        )
        for n, text in chunks.get(sid, []):
            items.append((vector_id(sid, CHUNK, n), text, flatten_metadata({**meta, "kind": CHUNK})))
    stale = [vid for sid in todo if sid in present for vid in present[sid]]
    if gone or stale:
        vectors.delete(ids=[*stale, *(vid for sid in gone for vid in present[sid])])
    for sid in gone:
        state.pop(sid, None)
    # relabelled metadata is applied now, before anything is published: governance changes
    # (a story made internal) reach the vector filters at once
    metas = {sid: _vector_meta(by_id[sid]) for sid in relabel}
    for sid, ids_ in relabel.items():
        ids, vecs = vectors.get_vectors(ids_)
        vectors.upsert(ids, vecs, [flatten_metadata({**metas[sid], "kind": kind_of(i)}) for i in ids])
        state[sid] = hashes[sid]
    return _VectorPlan(state_path, state, todo, relabel, gone, items, hashes)


def _apply_plan(
    plan: _VectorPlan,
    vectors: VectorStores,
    embedder: Embedder,
    summary: IndexSummary,
    *,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Embed and store the plan's items in batches, recording finished stories as it goes."""
    items, state = plan.items, plan.state
    t = time.perf_counter()
    for batch_no, start in enumerate(range(0, len(items), EMBED_BATCH)):
        batch = items[start : start + EMBED_BATCH]
        vecs = embedder.embed([text for _, text, _ in batch])
        vectors.upsert([i for i, _, _ in batch], vecs, [m for _, _, m in batch])
        done = {story_of(i) for i, _, _ in batch}
        if start + EMBED_BATCH < len(items):  # a story whose chunks continue in the next batch is not done
            done.discard(story_of(items[start + EMBED_BATCH][0]))
        for sid in done:
            state[sid] = plan.hashes[sid]
        if batch_no % 20 == 19:
            write_json(plan.state_path, state)  # a killed build resumes where it stopped
        if progress:
            progress(min(start + EMBED_BATCH, len(items)), len(items))
    summary.embed_seconds = time.perf_counter() - t
    summary.embedded_stories, summary.vectors_added = len(plan.todo), len(items)
    summary.relabelled_stories = len(plan.relabel)
    summary.stories_removed = len(plan.gone)
    write_json(plan.state_path, state)
