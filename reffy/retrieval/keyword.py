"""The keyword index: BM25 over :func:`reffy.retrieval.text.tokenize`, on bm25s.

bm25s precomputes every (term, doc) BM25 contribution into a sparse CSC matrix, so a
query is a sum of a few posting slices plus a top-k: milliseconds at 100k docs, where
rank_bm25 rescans Python dicts per query (it stays the reference in the tests).

Scoring is the Lucene variant (``method="lucene"``): idf = ln(1 + (N-df+.5)/(df+.5)) is
always positive, so a term in most stories (``llm`` here) still counts a little instead
of being zeroed (Robertson) or floored to an arbitrary epsilon (rank_bm25's BM25Okapi).
Lucene drops the constant (k1+1) numerator, which does not change rankings.

Queries never import bm25s (nor the scipy it needs, ~0.3 s of a one-shot CLI search): a
saved index is read back as its three CSC arrays plus the vocabulary (:class:`_Postings`) and
scored with numpy, exactly as bm25s scores (the sum of the query terms' posting values; a
differential test checks score-for-score equality). bm25s builds and saves.

The idf is global, so changes are made by rebuilding from the caller's in-memory texts:
1.5 s for the 1,483-story corpus, ~95 s for 100k (three quarters of it tokenising; see
``manifest["build_seconds"]`` and ``eval/bench_keyword.py``). Filters are a
boolean mask applied inside bm25s's scoring (``weight_mask``), not a post-filter, so a
filtered query still returns k matches when k exist.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from array import array
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from reffy.errors import KeywordIndexStale
from reffy.retrieval.text import TOKENIZER_VERSION, tokenize

FORMAT = 1
DEFAULT_FIELD_BOOSTS = {"title": 3}
_IDS_FILE = "doc_ids.json"
_MANIFEST_FILE = "manifest.json"
# methods whose score is a plain sum of stored posting values (bm25l/bm25+ add a
# non-occurrence term per query token, which only bm25s itself computes)
_SUMMED_METHODS = ("lucene", "robertson", "atire")


class _Postings:
    """The read side of a BM25 index: per term, the rows containing it and their BM25 values
    (bm25s's CSC layout: ``data[indptr[t]:indptr[t+1]]`` at rows ``indices[...]``)."""

    __slots__ = ("data", "indices", "indptr", "num_docs", "vocab")

    def __init__(
        self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, vocab: dict[str, int], num_docs: int
    ) -> None:
        self.data, self.indices, self.indptr, self.vocab, self.num_docs = data, indices, indptr, vocab, num_docs

    @classmethod
    def load(cls, path: Path, mmap: bool) -> _Postings:
        mode: Literal["r"] | None = "r" if mmap else None
        data, indices, indptr = (
            np.load(path / f"{name}.csc.index.npy", mmap_mode=mode) for name in ("data", "indices", "indptr")
        )
        vocab = json.loads((path / "vocab.index.json").read_text(encoding="utf-8"))
        params = json.loads((path / "params.index.json").read_text(encoding="utf-8"))
        return cls(data, indices, indptr, vocab, int(params["num_docs"]))

    def term_ids(self, terms: Sequence[str]) -> list[int]:
        vocab = self.vocab
        return [vocab[t] for t in terms if t in vocab]

    def scores(self, term_ids: Sequence[int]) -> np.ndarray:
        """BM25 score of every row: the sum over query terms (repeats count again, as in bm25s)."""
        if not term_ids:
            return np.zeros(self.num_docs, dtype=np.float32)
        spans = [(int(self.indptr[t]), int(self.indptr[t + 1])) for t in term_ids]
        rows = np.concatenate([self.indices[a:b] for a, b in spans])
        values = np.concatenate([self.data[a:b] for a, b in spans])
        return np.bincount(rows, weights=values, minlength=self.num_docs).astype(np.float32)

    def rows_with(self, term: str) -> np.ndarray:
        t = self.vocab.get(term)
        return self.indices[self.indptr[t] : self.indptr[t + 1]] if t is not None else np.empty(0, dtype=np.int64)


class KeywordIndex:
    """A BM25 index over stories (or chunks) identified by string ids."""

    def __init__(self, k1: float = 1.5, b: float = 0.75, method: str = "lucene") -> None:
        self.k1, self.b, self.method = k1, b, method
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._bm25: Any = None  # bm25s.BM25 of a build (the write side); None once loaded from disk
        self._post: _Postings | None = None
        self.manifest: dict[str, Any] = {}

    # -- building -----------------------------------------------------------------------

    def build(
        self,
        doc_ids: Sequence[str],
        texts: Sequence[str],
        fields: Sequence[dict[str, str]] | None = None,
        field_boosts: dict[str, int] | None = None,
    ) -> KeywordIndex:
        """Replace the index with these documents.

        ``fields[i]`` optionally adds named texts to document i, each repeated
        ``field_boosts[name]`` times (default: title x3): the classic way to boost a field
        in a single-field BM25. Callers may equally concatenate into ``texts`` themselves.
        """
        if len(doc_ids) != len(texts) or (fields is not None and len(fields) != len(texts)):
            raise ValueError("doc_ids, texts (and fields) must have the same length")
        if len(set(doc_ids)) != len(doc_ids):
            raise ValueError("doc_ids must be unique")
        boosts = DEFAULT_FIELD_BOOSTS if field_boosts is None else field_boosts
        started = time.perf_counter()
        vocab: dict[str, int] = {}
        corpus: list[array] = []
        for i, text in enumerate(texts):
            terms = tokenize(text)
            for name, value in (fields[i] if fields is not None else {}).items():
                terms += tokenize(value or "") * max(int(boosts.get(name, 1)), 0)
            # setdefault(t, len(vocab)) assigns the next id to new terms, in one C call each.
            corpus.append(array("I", [vocab.setdefault(t, len(vocab)) for t in terms]))
        tokenized = time.perf_counter()
        self._ids = list(doc_ids)
        self._pos = {d: i for i, d in enumerate(self._ids)}
        self._bm25, self._post = None, None
        if vocab:
            import bm25s

            bm25 = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
            bm25.index((corpus, vocab), create_empty_token=False, show_progress=False)
            self._bm25 = bm25
            sc = bm25.scores
            self._post = _Postings(sc["data"], sc["indices"], sc["indptr"], bm25.vocab_dict, len(self._ids))
        del corpus
        self.manifest = self._manifest(time.perf_counter() - started, tokenized - started, len(vocab))
        return self

    def _manifest(self, build_seconds: float, tokenize_seconds: float, vocab_size: int) -> dict[str, Any]:
        import bm25s

        return {
            "format": FORMAT,
            "tokenizer_version": TOKENIZER_VERSION,
            "bm25": {"k1": self.k1, "b": self.b, "method": self.method},
            "doc_count": len(self._ids),
            "vocab_size": vocab_size,
            "bm25s_version": bm25s.__version__,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "build_seconds": round(build_seconds, 3),
            "tokenize_seconds": round(tokenize_seconds, 3),
        }

    # -- ids and masks ------------------------------------------------------------------

    @property
    def ids(self) -> list[str]:
        """Document ids in index order: ``mask[i]`` refers to ``ids[i]``."""
        return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def ids_with(self, term: str) -> set[str]:
        """The documents holding the index term ``term`` (an analysed term, as :func:`tokenize` gives)."""
        if self._post is None:
            return set()
        return {self._ids[i] for i in self._post.rows_with(term).tolist()}

    def doc_index(self, doc_id: str) -> int:
        """Row of ``doc_id`` (KeyError when absent)."""
        return self._pos[doc_id]

    def mask(self, doc_ids: Iterable[str]) -> np.ndarray:
        """A boolean mask allowing just these ids (unknown ids are ignored)."""
        out = np.zeros(len(self._ids), dtype=bool)
        rows = [self._pos[d] for d in doc_ids if d in self._pos]
        out[rows] = True
        return out

    # -- querying -----------------------------------------------------------------------

    def query(self, text: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top ``k`` (doc id, BM25 score), best first. Only documents sharing a term with the
        query are returned; with ``allowed`` (bool per row) only those rows are scored."""
        if allowed is not None:
            allowed = np.asarray(allowed)
            if allowed.shape != (len(self._ids),):
                raise ValueError(f"allowed mask has shape {allowed.shape}, expected ({len(self._ids)},)")
        post = self._post
        if k <= 0 or post is None:
            return []
        term_ids = post.term_ids(tokenize(text))
        if not term_ids:
            return []
        if allowed is not None and not allowed.any():
            return []
        scores = self._scores(term_ids)
        if allowed is not None:
            scores *= allowed
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.lexsort((top, -scores[top]))]  # best first; ties by row, so results are stable
        return [(self._ids[int(d)], float(scores[d])) for d in top if scores[d] > 0]

    def _scores(self, term_ids: list[int]) -> np.ndarray:
        if self._bm25 is not None and self.method not in _SUMMED_METHODS:
            return self._bm25.get_scores(term_ids)
        assert self._post is not None  # one of the two is loaded
        return self._post.scores(term_ids)

    def document_frequencies(self, text: str) -> dict[str, int]:
        """How many documents contain each query term (0 for terms the library never uses)."""
        terms = list(dict.fromkeys(tokenize(text)))
        if self._post is None:
            return dict.fromkeys(terms, 0)
        return {t: len(self._post.rows_with(t)) for t in terms}

    def coverage(self, text: str, doc_ids: Sequence[str], satisfied: str = "") -> float:
        """The best share, over ``doc_ids``, of the query's IDF weight that a document contains.

        Terms the library never uses weigh most; a document holding all distinctive query
        terms scores 1.0. Library-relative, so it transfers between collections. Terms of
        ``satisfied`` count as contained (words a filter already guarantees, such as "banks"
        under industry=finance)."""
        met = set(tokenize(satisfied))
        terms = list(dict.fromkeys(tokenize(text)))
        if not terms or self._post is None:
            return 0.0
        n = len(self._ids)
        rows = {self._pos[d] for d in doc_ids if d in self._pos}
        weights, present = [], []
        for t in terms:
            col = self._post.rows_with(t)
            df = len(col)
            weights.append(float(np.log(1 + (n - df + 0.5) / (df + 0.5))))
            if t in met:
                present.append(rows)
                continue
            members = set(col.tolist())
            present.append({r for r in rows if r in members})
        total = sum(weights)
        return max((sum(w for w, p in zip(weights, present, strict=True) if r in p) / total for r in rows), default=0.0)

    def score_all(self, text: str) -> np.ndarray:
        """BM25 score of every row for ``text`` (used by tests and diagnostics)."""
        if self._post is None:
            return np.zeros(len(self._ids), dtype=np.float32)
        term_ids = self._post.term_ids(tokenize(text))
        if not term_ids:
            return np.zeros(len(self._ids), dtype=np.float32)
        return self._scores(term_ids)

    # -- persistence --------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write the index to ``directory`` atomically: build a sibling temp dir, then swap."""
        target = Path(directory)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir()
            if self._bm25 is not None:
                self._bm25.save(tmp, show_progress=False)
            elif self._post is not None:
                raise ValueError("an index loaded from disk is saved where it is: copy its directory instead")
            (tmp / _IDS_FILE).write_text(json.dumps(self._ids), encoding="utf-8")
            (tmp / _MANIFEST_FILE).write_text(json.dumps(self.manifest, indent=2), encoding="utf-8")
            old = None
            if target.exists():
                old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
                os.rename(target, old)
            os.rename(tmp, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return target

    @classmethod
    def load(cls, directory: str | Path, mmap: bool = False) -> KeywordIndex:
        """Read an index written by :meth:`save`. ``mmap`` maps the score arrays instead of
        reading them (large indexes, several processes)."""
        path = Path(directory)
        manifest_file = path / _MANIFEST_FILE
        if not manifest_file.is_file():
            raise KeywordIndexStale(f"No keyword index at {path}. Build the index (`reffy index`).")
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT or manifest.get("tokenizer_version") != TOKENIZER_VERSION:
            raise KeywordIndexStale(
                f"The keyword index at {path} was built with tokenizer {manifest.get('tokenizer_version')!r} "
                f"(format {manifest.get('format')}); this Reffy uses {TOKENIZER_VERSION!r} (format {FORMAT}). "
                "Rebuild the index (`reffy index --rebuild`)."
            )
        params = manifest["bm25"]
        index = cls(k1=params["k1"], b=params["b"], method=params["method"])
        index._ids = json.loads((path / _IDS_FILE).read_text(encoding="utf-8"))
        index._pos = {d: i for i, d in enumerate(index._ids)}
        if (path / "params.index.json").is_file():
            if params["method"] not in _SUMMED_METHODS:  # scores need bm25s's non-occurrence terms
                import bm25s

                index._bm25 = bm25s.BM25.load(path, mmap=mmap, show_progress=False)
            index._post = _Postings.load(path, mmap)
        index.manifest = manifest
        return index
