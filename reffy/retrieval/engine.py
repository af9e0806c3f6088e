"""Search over the gold library: keyword, dense and hybrid, with filters, fusion, priors,
diversity, usage fatigue, optional re-ranking and a no-strong-match signal.

Filters run *inside* each retriever (a BM25 weight mask; a Chroma ``where``), so a filtered
query still fills k results. Dense retrieval reads three vector kinds: story summaries,
story introductions (title, facts, abstract or opening paragraphs) and body chunks (chunk
hits are aggregated to their story); with the two BM25 views, the five rankings are fused
with weighted reciprocal-rank fusion. Everything a ranking decision used is returned in
``Hit.parts`` so results can be explained and evaluated.

Size: the engine's loading, its search stages and hit assembly; the ranking maths are pure functions
in fusion.py and the layout in layout.py.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from reffy.config import Settings
from reffy.domain.story import StoryCard
from reffy.errors import IndexStale
from reffy.retrieval import fusion, layout
from reffy.retrieval.layout import CHUNK, COLLECTIONS, INTRO, SUMMARY, story_of
from reffy.retrieval.types import Hit, SearchFilters
from reffy.wording import plural

if TYPE_CHECKING:
    from reffy.retrieval.filter_values import Vocabulary
    from reffy.retrieval.vector import VectorIndex
    from reffy.rubric import Taxonomy

MODES = ("keyword", "hybrid")


@dataclass(frozen=True, slots=True)
class RankingConfig:
    """Ranking knobs. Defaults were tuned with global values only on the dev query set
    (``python eval/retrieval_corpus.py``); no per-query or per-story rules."""

    keyword_candidates: int = 100
    dense_candidates: int = 100
    chunk_candidates: int = 200
    rrf_k: int = 10
    w_keyword: float = 0.5
    w_profile: float = 2.0
    w_summary: float = 2.0
    w_intro: float = 1.0
    w_chunk: float = 1.0
    chunk_decay: float = 0.0
    quality_weight: float = 0.0
    diversity_penalty: float = 0.7
    diversity_free: int = 3  # stories of one company ranked before the penalty starts
    fresh_boost: float = 0.5
    # No strong match: the top stories hold under this share of the query's IDF-weighted
    # vocabulary (library-relative) and, in hybrid mode, no summary/passage is this close in
    # meaning and no plausible passage (>= no_answer_plausible) stands out from the pack (its
    # similarity minus the 10th story's best passage: a specific match stands out, a missing
    # topic leaves a flat tail of near misses). Cosine thresholds are for the bundled MiniLM;
    # calibrated on the dev queries.
    no_answer_coverage: float = 0.38
    no_answer_dense: float = 0.62
    no_answer_standout: float = 0.085
    no_answer_plausible: float = 0.45


@dataclass(slots=True)
class SearchResult:
    query: str
    mode: str
    hits: list[Hit]
    no_answer: bool = False
    notes: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    signals: dict[str, float] = field(default_factory=dict)
    text: str = ""  # what was searched: the query less the words its filters already cover
    # stories under the gold threshold whose customer the query names (analysts only; never ranked)
    below_threshold: list[dict[str, Any]] = field(default_factory=list)


_WORD = re.compile(r"[\w-]+", re.UNICODE)


@dataclass(slots=True)
class _Candidates:
    """What the retrieval stages of one search found, per story."""

    keyword: list[tuple[str, float]]  # BM25 over the story text, best first
    profile: list[tuple[str, float]]  # BM25 over the facts view
    summary: dict[str, float] = field(default_factory=dict)  # cosine to the retrieval summary
    intro: dict[str, float] = field(default_factory=dict)  # cosine to the introduction
    chunk: dict[str, float] = field(default_factory=dict)  # aggregated passage similarity
    passages: dict[str, str] = field(default_factory=dict)  # story -> its best passage's vector id
    chunk_count: dict[str, int] = field(default_factory=dict)  # story -> passages among the candidates

    @property
    def keyword_scores(self) -> dict[str, float]:
        return dict(self.keyword)

    @property
    def keyword_rankings(self) -> list[list[str]]:
        return [[d for d, _ in self.keyword], [d for d, _ in self.profile]]


class SearchEngine:
    """Loaded once per process (models and indexes are expensive); thread-safe for queries."""

    def __init__(self, settings: Settings, *, embedder=None, reranker=None, config: RankingConfig | None = None):
        from reffy.retrieval.keyword import KeywordIndex
        from reffy.retrieval.text import TOKENIZER_VERSION

        self.settings = settings
        self.config = config or RankingConfig()
        index_dir = settings.index_dir
        self.stamp = layout.stamp(index_dir)
        self.manifest = layout.read_manifest(index_dir)
        layout.check_format(self.manifest, settings.home)
        if self.manifest.get("tokenizer") != TOKENIZER_VERSION:
            raise IndexStale(
                f"The keyword index was built with tokenizer {self.manifest.get('tokenizer')}; this Reffy "
                f"uses {TOKENIZER_VERSION}. Run `reffy index --rebuild`."
            )
        from reffy.retrieval.docstore import DocStore

        self.docstore = DocStore(index_dir)
        if not self.docstore.exists:
            raise IndexStale(
                f"The search index in {settings.home} predates story texts in the index: run `reffy index`."
            )
        rows = json.loads((index_dir / layout.DOCS).read_text(encoding="utf-8"))
        self.docs: list[StoryCard] = [StoryCard.from_row(row) for row in rows]
        self.by_id: dict[str, StoryCard] = {d.story_id: d for d in self.docs}
        # Whether any story serves only one audience (a duplicate group's internal canonical and
        # its public twin). Without one the audience filter selects everything and is dropped, so
        # it costs nothing - and an index built before rows had an audience is searched as before.
        self.per_audience = any(d.audience != "all" for d in self.docs)
        self.keyword = KeywordIndex.load(index_dir / layout.BM25_FULL)
        self.profile = KeywordIndex.load(index_dir / layout.BM25_PROFILE)
        if self.profile.ids != self.keyword.ids:
            raise IndexStale("The keyword indexes are out of step: run `reffy index --rebuild`.")
        self._keyword_rows = np.array([self.keyword.doc_index(d.story_id) for d in self.docs], dtype=np.int64)
        self._embedder = embedder
        self._vectors: dict[str, VectorIndex] | None = None
        self._reranker = reranker
        self._reranker_checked = reranker is not None
        self.notes: list[str] = []
        self._lock = threading.Lock()
        self._masks: dict[SearchFilters, np.ndarray] = {}
        self._taxonomy: Taxonomy | None = None
        self._vocabulary: Vocabulary | None = None
        self._below: list[dict[str, Any]] | None = None
        from reffy.retrieval.calibrate import from_manifest

        self.calibration = from_manifest(self.manifest)  # None: the built-in no-answer rule
        self.ranker = None  # a trained learned.LearnedRanker reorders hybrid candidates; None: stock fusion

    # -- lazily loaded backends ----------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            from reffy.embedder import embedder_for

            self._embedder = embedder_for(self.settings)
        if self.manifest.get("embedder") != self._embedder.model_id:
            raise IndexStale(
                f"The vector index was built with {self.manifest.get('embedder')!r}; the embedding model "
                f"is now {self._embedder.model_id!r}. Run `reffy index --rebuild`."
            )
        return self._embedder

    @property
    def vectors(self):
        """{kind: VectorIndex} for the summary and chunk collections."""
        with self._lock:
            if self._vectors is None:
                from reffy.retrieval.vector import VectorIndex

                self._vectors = {
                    kind: VectorIndex(self.settings, collection=name) for kind, name in COLLECTIONS.items()
                }
        return self._vectors

    def reranker(self):
        """The configured cross-encoder, or None. Nothing is imported unless REFFY_RERANKER_MODEL is
        set; a configured model that does not load is logged once and reported by ``reffy status``
        (see :func:`reffy.retrieval.rerank.reranker_state`), never under every result list."""
        if not self._reranker_checked:
            if self.settings.reranker_model and self.settings.rerank_top:
                from reffy.retrieval.rerank import load_reranker

                self._reranker, _ = load_reranker(self.settings.reranker_model)
            self._reranker_checked = True
        return self._reranker

    @property
    def below_threshold(self) -> list[dict[str, Any]]:
        """Stories gold left under the score threshold (analysts' look-ups by customer name;
        never ranked). Empty for an index written before the index carried them."""
        if self._below is None:
            try:
                self._below = json.loads((self.settings.index_dir / layout.BELOW).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._below = []
        return self._below

    @property
    def vectors_ready(self) -> bool:
        """Whether hybrid search can use the vectors: complete, or an incremental update in
        progress (the stories it adds are found by keyword until it finishes)."""
        m = self.manifest
        return layout.vectors_complete(m) or not (
            m.get("rebuilding") or m.get("stories_pending", 0) > len(self.docs) // 2
        )

    @property
    def taxonomy(self):
        if self._taxonomy is None:
            from reffy.rubric import load_taxonomy

            self._taxonomy = load_taxonomy(self.settings.taxonomy_path)
        return self._taxonomy

    @property
    def vocabulary(self):
        """The filter values this library holds (for resolving and checking filters)."""
        if self._vocabulary is None:
            from reffy.retrieval.filter_values import vocabulary

            self._vocabulary = vocabulary(self.docs, self.taxonomy)
        return self._vocabulary

    def warm(self) -> None:
        """Load every model now (for servers and benchmarks), and run one search of each mode so
        the first real request finds every lazy structure built."""
        self.reranker()
        self.search("warm up", k=1, mode="keyword")
        if self.vectors_ready:
            self.embedder.embed(["warm up"])
            for index in self.vectors.values():
                index.count()
            self.search("warm up", k=1, mode="hybrid")

    def is_current(self) -> bool:
        """Whether the index on disk is still the one this engine loaded (one ``stat``)."""
        return layout.stamp(self.settings.index_dir) == self.stamp

    def close(self) -> None:
        self.docstore.close()
        if self._vectors is not None:
            for index in self._vectors.values():
                index.close()
            self._vectors = None

    # -- search ---------------------------------------------------------------------------
    def _effective(self, filters: SearchFilters) -> SearchFilters:
        from dataclasses import replace

        return replace(filters, audience=None) if filters.audience and not self.per_audience else filters

    def mask(self, filters: SearchFilters) -> np.ndarray | None:
        """Boolean mask over the keyword index's rows for the stories passing ``filters``."""
        filters = self._effective(filters)
        if filters.empty:
            return None
        cached = self._masks.get(filters)
        if cached is None:
            cached = np.zeros(len(self.keyword), dtype=bool)
            passing = [i for i, d in enumerate(self.docs) if filters.matches(d)]
            cached[self._keyword_rows[passing]] = True
            if len(self._masks) > 256:
                self._masks.clear()
            self._masks[filters] = cached
        return cached

    def search(
        self,
        query: str,
        filters: SearchFilters | None = None,
        k: int = 10,
        mode: str = "hybrid",
        *,
        usage: Mapping[str, int] | None = None,
        fatigue: float | None = None,
        fresh: bool = False,
        exclude: frozenset[str] = frozenset(),
    ) -> SearchResult:
        """Stories for ``query``, composed of stages: keyword, dense, fuse, adjust (quality,
        fatigue, freshness), diversify, rerank, then the no-answer signals and the hits.
        ``exclude``: story ids searched as if the library did not hold them (the no-answer
        calibration asks about held-aside topics this way, without building a second index)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        from reffy.retrieval.facets import strip_filtered

        filters = self._effective(filters or SearchFilters())
        timings: dict[str, float] = {}
        result = SearchResult(query, mode, [])
        query, facet_words = strip_filtered(query, filters, self.taxonomy)
        result.text = query
        found = self._keyword_stage(query, filters, exclude, timings)
        mode = self._available_mode(mode, result)
        if mode == "hybrid":
            self._dense_stage(query, filters, exclude, found, timings)
        ranked = self._rerank(query, self._rank(query, found, mode, exclude, usage, fatigue, fresh), result, timings)
        result.signals = self._signals(query, facet_words, found, ranked)
        result.no_answer = self._no_answer(result.signals, mode)
        result.mode = mode
        from reffy.retrieval.text import STOPWORDS

        terms = {w.lower() for w in _WORD.findall(query) if len(w) > 2 and w.lower() not in STOPWORDS}
        keyword_scores = found.keyword_scores
        for doc_id, score in ranked[:k]:
            result.hits.append(
                self._hit(
                    doc_id,
                    score,
                    terms,
                    keyword_scores,
                    found.summary,
                    found.chunk,
                    found.passages.get(doc_id),
                    found.intro,
                )
            )
        result.notes = [*self.notes, *result.notes]
        result.timings_ms = {key: round(v, 2) for key, v in timings.items()}
        return result

    # -- the stages of a search --------------------------------------------------------------
    def _keyword_stage(
        self, query: str, filters: SearchFilters, exclude: frozenset[str], timings: dict[str, float]
    ) -> _Candidates:
        """BM25 over the story text and over the profile (facts) view, within the filters."""
        t = time.perf_counter()
        mask = self.mask(filters)
        if exclude:
            mask = np.ones(len(self.keyword), dtype=bool) if mask is None else mask.copy()
            mask[[self.keyword.doc_index(d) for d in exclude if d in self.by_id]] = False
        n = self.config.keyword_candidates
        found = _Candidates(self.keyword.query(query, n, mask), self.profile.query(query, n, mask))
        timings["keyword"] = (time.perf_counter() - t) * 1000
        return found

    def _available_mode(self, mode: str, result: SearchResult) -> str:
        """``keyword`` while the vectors are incomplete (said in the notes), else ``mode``."""
        if mode == "hybrid" and not self.vectors_ready:
            pending = self.manifest.get("stories_pending", 0)
            if layout.build_stopped(self.manifest):
                result.notes.append(
                    f"Meaning-based search is incomplete: the index build stopped before it finished "
                    f"({pending} of {plural(len(self.docs), 'story')} not embedded). These are keyword "
                    "results until the library is indexed again."
                )
            else:
                result.notes.append(
                    f"Meaning-based search is still being built ({pending} of "
                    f"{plural(len(self.docs), 'story')} to embed): these are keyword results until "
                    "indexing finishes."
                )
            return "keyword"
        if mode == "hybrid" and self.manifest.get("stories_pending"):
            result.notes.append(
                f"{plural(self.manifest['stories_pending'], 'story')} added just now "
                f"{'is' if self.manifest['stories_pending'] == 1 else 'are'} found by keyword only "
                "until indexing finishes."
            )
        return mode

    def _dense_stage(
        self,
        query: str,
        filters: SearchFilters,
        exclude: frozenset[str],
        found: _Candidates,
        timings: dict[str, float],
    ) -> None:
        """The query's vector against summaries, introductions and passages (chunk similarities
        aggregated per story), within the filters; fills ``found``."""
        from reffy.retrieval.vector import where_for

        cfg = self.config
        t = time.perf_counter()
        qv = self.embedder.embed([query])[0]
        timings["embed"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        where = where_for(filters)
        for vid, sim, _ in self.vectors[SUMMARY].query(qv, cfg.dense_candidates, where):
            found.summary[story_of(vid)] = sim
        for vid, sim, _ in self.vectors[INTRO].query(qv, cfg.dense_candidates, where):
            found.intro[story_of(vid)] = sim
        chunk_hits = self.vectors[CHUNK].query(qv, cfg.chunk_candidates, where)
        if exclude:
            found.summary = {d: v for d, v in found.summary.items() if d not in exclude}
            found.intro = {d: v for d, v in found.intro.items() if d not in exclude}
            chunk_hits = [h for h in chunk_hits if story_of(h[0]) not in exclude]
        timings["dense"] = (time.perf_counter() - t) * 1000
        for vid, _sim, _ in chunk_hits:
            found.passages.setdefault(story_of(vid), vid)
            found.chunk_count[story_of(vid)] = found.chunk_count.get(story_of(vid), 0) + 1
        found.chunk = dict(fusion.aggregate([(vid, sim) for vid, sim, _ in chunk_hits], story_of, cfg.chunk_decay))

    def _rank(
        self,
        query: str,
        found: _Candidates,
        mode: str,
        exclude: frozenset[str],
        usage: Mapping[str, int] | None,
        fatigue: float | None,
        fresh: bool,
    ) -> list[tuple[str, float]]:
        """Fuse the rankings (RRF), adjust each story (quality prior, fatigue, freshness) and
        diversify by customer."""
        cfg = self.config
        if mode == "keyword":
            fused = fusion.rrf(found.keyword_rankings, k=cfg.rrf_k, weights=[cfg.w_keyword, cfg.w_profile])
        else:
            rankings = [
                *found.keyword_rankings,
                sorted(found.summary, key=lambda d: found.summary[d], reverse=True),
                sorted(found.intro, key=lambda d: found.intro[d], reverse=True),
                [d for d, _ in sorted(found.chunk.items(), key=lambda kv: -kv[1])],
            ]
            weights = [cfg.w_keyword, cfg.w_profile, cfg.w_summary, cfg.w_intro, cfg.w_chunk]
            fused = fusion.rrf(rankings, k=cfg.rrf_k, weights=weights)
            fused = self._learned_stage(
                query, found, [(d, s) for d, s in fused if d in self.by_id and d not in exclude]
            )
        strength = self.settings.fatigue_strength if fatigue is None else fatigue
        adjusted = []
        for doc_id, score in fused:
            if doc_id not in self.by_id or doc_id in exclude:
                continue
            s = fusion.quality_prior(score, self.by_id[doc_id].score, cfg.quality_weight)
            uses = (usage or {}).get(doc_id, 0)
            s = fusion.fatigue(s, uses, strength)
            if fresh:
                s = fusion.freshness(s, uses, cfg.fresh_boost)
            adjusted.append((doc_id, s))
        adjusted.sort(key=lambda kv: (-kv[1], kv[0]))
        return fusion.diversify(
            adjusted,
            lambda d: (self.by_id[d].customer or "").lower() or None,
            penalty=cfg.diversity_penalty,
            free=cfg.diversity_free,
        )

    def _learned_stage(self, query: str, found: _Candidates, fused: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """A trained ranker's reordering of the fused candidates; with none (the stock engine: no
        ranker has won an evaluation yet, see eval/README.md) the fused list as it is. The stage
        is also where eval/ranker.py records exactly what search saw."""
        from reffy.retrieval import learned

        candidates = learned.Candidates(
            query, fused, found.keyword, found.profile, found.summary, found.intro, found.chunk, found.chunk_count
        )
        return learned.stage(self.ranker, candidates, self.by_id, self.config.rrf_k)

    def _signals(
        self, query: str, facet_words: list[str], found: _Candidates, ranked: list[tuple[str, float]]
    ) -> dict[str, float]:
        """What the no-answer decision reads: best scores, how far the top passage stands out,
        and how much of the query the top stories cover."""
        dfs = self.keyword.document_frequencies(query)
        return {
            "top_keyword": found.keyword[0][1] if found.keyword else 0.0,
            "top_summary": max(found.summary.values(), default=0.0),
            "top_chunk": max(found.chunk.values(), default=0.0),
            "standout": fusion.standout(found.chunk.values(), 10),
            # facet words the filters removed are met by every story in the pool
            "coverage": self.keyword.coverage(
                " ".join([query, *facet_words]), [d for d, _ in ranked[:3]], satisfied=" ".join(facet_words)
            ),
            "unseen_terms": float(sum(1 for v in dfs.values() if v == 0)),
            "query_terms": float(len(dfs)),
        }

    def _rerank(self, query: str, ranked: list[tuple[str, float]], result: SearchResult, timings) -> list:
        top = self.settings.rerank_top
        reranker = self.reranker() if top else None
        if reranker is None or not ranked:
            return ranked
        t = time.perf_counter()
        head = ranked[:top]
        texts = [self.by_id[d].summary or self.by_id[d].title for d, _ in head]
        scores = reranker.scores(query, texts)
        order = sorted(range(len(head)), key=lambda i: -float(scores[i]))
        timings["rerank"] = (time.perf_counter() - t) * 1000
        return [(head[i][0], float(scores[i])) for i in order] + ranked[top:]

    def _no_answer(self, signals: dict[str, float], mode: str) -> bool:
        """The built-in rule, and, once `reffy tune` has fitted one on this library, its coverage
        threshold besides: the tuned threshold catches questions whose words the library lacks,
        the built-in rule those whose words are there but whose meaning is not (both measured in
        eval/no_answer.py: together they never flag less than the rule alone did)."""
        if self.calibration is not None and self.calibration.flags(signals):
            return True
        return self.built_in_no_answer(signals, mode)

    def built_in_no_answer(self, signals: dict[str, float], mode: str) -> bool:
        """The rule an untuned library uses (thresholds in :class:`RankingConfig`); public so the
        evaluation can set it beside the tuned decision."""
        cfg = self.config
        if signals["coverage"] >= cfg.no_answer_coverage:
            return False
        if mode == "keyword":
            return True
        if max(signals["top_summary"], signals["top_chunk"]) >= cfg.no_answer_dense:
            return False
        return signals["top_chunk"] < cfg.no_answer_plausible or signals["standout"] < cfg.no_answer_standout

    def _hit(
        self,
        doc_id: str,
        score: float,
        terms: set[str],
        kw: dict,
        summ: dict,
        chunk: dict,
        passage_id: str | None,
        intro: dict,
    ) -> Hit:
        doc = self.by_id[doc_id]
        parts = {
            "keyword": round(kw.get(doc_id, 0.0), 4),
            "summary": round(summ.get(doc_id, 0.0), 4),
            "intro": round(intro.get(doc_id, 0.0), 4),
            "chunk": round(chunk.get(doc_id, 0.0), 4),
            "final": round(score, 6),
        }
        haystack = " ".join(str(v or "") for v in (doc.title, doc.summary, doc.customer, doc.industry_name)).lower()
        matched = sorted(t for t in terms if t in haystack)
        why = []
        if matched:
            why.append("mentions " + ", ".join(matched[:6]))
        if parts["summary"] >= 0.4:
            why.append(f"summary close in meaning ({parts['summary']:.2f})")
        if parts["chunk"] >= 0.4:
            why.append(f"a passage close in meaning ({parts['chunk']:.2f})")
        if not why:
            why.append("best available match")
        return Hit(story=doc, score=score, parts=parts, why="; ".join(why), passage=passage_id)
