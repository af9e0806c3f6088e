"""Industry classification: metadata first, else embeddings plus a keyword prior.

``IndustryClassifier(taxonomy, embedder).classify(title, text, meta)`` returns
``(industry_id, confidence)``:

1. **Metadata wins.** An ``industry`` / ``sector`` / ``vertical`` field that names a taxonomy
   industry (by id, by name, by a known synonym such as "banking" -> finance or "public
   sector" -> government, or by a close fuzzy match) is returned with confidence 1.0.
2. **Otherwise the text decides**, from two kinds of evidence:

   * *embedding similarity* between the story's first two sentences (which nearly always
     say who the customer is and what it does) and each industry's prototypes: its name
     and every sentence of its description, averaged;
   * a *keyword prior*: hand-written domain words per industry
     (:mod:`reffy.domain.lexicon`), counted separately in five views of the story — the
     customer's name ("... Bank", "... Health"), what the opening says the customer is
     ("X, a European online marketplace", "the company operates 850 radio stations"), the
     title, the opening ~1,500 characters and the rest of the text — each view adding
     ``weight * log(1 + weighted count)``, so a long technical body cannot drown a
     one-line self-description.

   An industry's score is ``EMBED_WEIGHT * similarity + keyword score``; the best score
   wins. Confidence is the softmax probability of the winner. Below ``min_confidence`` the
   classifier falls back to the taxonomy's ``other`` industry when it has one (else None).
   Concepts that a taxonomy has no industry for (manufacturing, logistics, travel) count
   for its ``other`` industry.

Everything is deterministic; :meth:`IndustryClassifier.explain` returns the per-industry
scores behind a decision.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from reffy.domain.industry import FOLDABLE, META_KEYS, concept_for, industry_from_meta, map_industry  # noqa: F401 - the pipeline's names
from reffy.domain.lexicon import CONCEPTS
from reffy.domain.text import blocks, nfc, sentences

if TYPE_CHECKING:
    import numpy as np

    from reffy.embedder import Embedder
    from reffy.rubric import Taxonomy

# Tuned on the shared evaluation corpus (see ingest/extract/evaluate.py); general weights,
# not per-story rules.
EMBED_WEIGHT = 6.0
VIEW_WEIGHTS = {"name": 1.0, "desc": 1.0, "title": 1.0, "opening": 0.5, "body": 0.1}
OPENING_CHARS = 1500
BODY_CHARS = 15000
EMBED_CHARS = 1000
SOFTMAX_TEMPERATURE = 1.0
# Text with no industry signal ("we met on Tuesday") scores 0.07-0.10 against ~16-19
# industries; every story of the evaluation corpus scores above 0.12.
MIN_CONFIDENCE = 0.11


_TOKEN = re.compile(r"[a-z0-9][a-z0-9&'’/.-]*[a-z0-9]|[a-z0-9]")


def _tokens(text: str) -> list[str]:
    return [t.replace("’", "'") for t in _TOKEN.findall(text.lower())]


@dataclass(frozen=True)
class _PhraseIndex:
    """Phrases (tuples of words; a last word ending in ``*`` matches any ending) indexed by
    their first word, matched greedily left to right over a token list."""

    by_first: dict[str, list[tuple[tuple[str, ...], bool, Any]]]  # first word -> [(rest, last_is_stem, value)]
    stems: dict[str, Any]  # one-word stems ("bank*" -> "bank")
    max_stem: int
    # token -> its stem match: the same words recur in every story
    _stem_matches: dict[str, tuple[int, Any] | None] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, phrases: dict[str, Any]) -> _PhraseIndex:
        by_first: dict[str, list[tuple[tuple[str, ...], bool, Any]]] = {}
        stems: dict[str, Any] = {}
        for phrase, value in phrases.items():
            stem_last = phrase.endswith("*")
            words = _tokens(phrase[:-1] if stem_last else phrase)
            if not words:
                continue
            if len(words) == 1 and stem_last:
                stems[words[0]] = value
            else:
                by_first.setdefault(words[0], []).append((tuple(words[1:]), stem_last and len(words) > 1, value))
        for entries in by_first.values():
            entries.sort(key=lambda e: -len(e[0]))
        return cls(by_first, stems, max((len(k) for k in stems), default=0))

    def match(self, tokens: list[str], i: int) -> tuple[int, Any] | None:
        """(number of tokens matched, value) for the longest phrase starting at ``i``."""
        token = tokens[i]
        for rest, stem_last, value in self.by_first.get(token, ()):
            n = len(rest)
            if n == 0:
                return 1, value
            if i + n >= len(tokens):
                continue
            window = tokens[i + 1 : i + 1 + n]
            if tuple(window[:-1]) == rest[:-1] and (
                window[-1].startswith(rest[-1]) if stem_last else window[-1] == rest[-1]
            ):
                return n + 1, value
        if token in self._stem_matches:
            return self._stem_matches[token]
        found: tuple[int, Any] | None = None  # the longest stem match, remembered (bounded)
        for k in range(min(len(token), self.max_stem), 1, -1):
            value = self.stems.get(token[:k])
            if value is not None:
                found = (1, value)
                break
        if len(self._stem_matches) >= 200_000:
            self._stem_matches.clear()
        self._stem_matches[token] = found
        return found


@dataclass(frozen=True)
class _Lexicon:
    keywords: _PhraseIndex  # value: ((industry index, weight), ...)
    exclude: _PhraseIndex  # value: True


def _build_lexicon(concept_lists: Sequence[Sequence[str]]) -> _Lexicon:
    """Keyword and exclusion indexes over the concepts of every industry;
    ``concept_lists[i]`` are the concepts whose keywords count for industry ``i``."""
    weights: dict[str, dict[int, float]] = {}
    excludes: set[str] = set()
    for index, concepts in enumerate(concept_lists):
        for concept in concepts:
            spec = CONCEPTS[concept]
            excludes.update(spec.get("exclude", []))
            for keyword, weight in spec["keywords"].items():
                slot = weights.setdefault(keyword.lower(), {})
                slot[index] = max(slot.get(index, 0.0), weight)
    keywords = {k: tuple(sorted(v.items())) for k, v in weights.items()}
    return _Lexicon(_PhraseIndex.build(keywords), _PhraseIndex.build({e.lower(): True for e in excludes}))


def _keyword_hits(lexicon: _Lexicon, text: str, n: int) -> list[float]:
    """Summed keyword weights per industry index for ``text`` (excluded phrases such as
    "machine learning" or "search engine" are skipped before keywords are looked up)."""
    scores = [0.0] * n
    if not text:
        return scores
    tokens = _tokens(text)
    i = 0
    while i < len(tokens):
        skip = lexicon.exclude.match(tokens, i)
        if skip is not None:
            i += skip[0]
            continue
        hit = lexicon.keywords.match(tokens, i)
        if hit is None:
            i += 1
            continue
        for index, weight in hit[1]:
            scores[index] += weight
        i += hit[0]
    return scores


def _anchored_description(paragraphs: Sequence[str], customer: str) -> str:
    """What the opening says the customer *is*: "<customer>, a ...", "<customer> is a ...",
    "<customer> operates ...", "The company is/operates ..."."""
    subject = r"(?:the company|the firm|the organi[sz]ation|the startup|the bank|the business)"
    if customer:
        subject = rf"(?:{re.escape(customer)}(?:['’]s)?|{subject})"
    anchored = re.compile(
        rf"\b{subject}(?:\s*\([^)]{{1,40}}\))?(?:,\s+(?:a|an|one of|the)\s+([^,.;:()]{{3,150}})|"
        rf"\s+(?:is|was|are|operates as|serves as)\s+(?:a|an|one of|the|among)\s+([^.;:]{{3,200}})|"
        rf"\s+(?:operates|runs|provides|offers|serves|sells|specializes in|specialises in|focuses on|helps)\s+"
        rf"([^.;:]{{3,160}}))",
        re.IGNORECASE,
    )
    found: list[str] = []
    for sentence in sentences(" ".join(paragraphs[:3]))[:10]:
        for m in anchored.finditer(sentence):
            found.append(next(g for g in m.groups() if g))
    return " | ".join(found[:3])


def story_views(title: str, text: str, customer: str | None = None) -> dict[str, str]:
    """The parts of a story the classifier reads: ``name`` (the customer), ``desc`` (what
    the opening says the customer is or does), ``title``, ``opening`` (~1,500 characters of
    prose), ``body`` (the rest, cut to 15,000 characters) and ``embed`` (the first two
    sentences, the only text that is embedded)."""
    paras = [c for k, c in blocks(nfc(text)) if k != "heading"]
    joined = "\n".join(paras)
    if customer is None:
        from ingest.extract.customer import find_customer

        customer = find_customer(title, text) or ""
    return {
        "name": customer,
        "desc": _anchored_description(paras, customer),
        "title": nfc(title),
        "opening": joined[:OPENING_CHARS],
        "body": joined[OPENING_CHARS:BODY_CHARS],
        "embed": _embed_view(title, paras),
    }


def embed_view(title: str, text: str) -> str:
    """The ``embed`` view of :func:`story_views` alone (no customer needed)."""
    return _embed_view(title, [c for k, c in blocks(nfc(text)) if k != "heading"])


def _embed_view(title: str, paras: Sequence[str]) -> str:
    first = sentences(" ".join(paras[:2]))[:2] if paras else []
    return " ".join(first)[:EMBED_CHARS] or nfc(title)


class NoEmbedder:
    """Stands in for the model in a classifier that decides from similarities computed
    elsewhere (:meth:`IndustryClassifier.deciding_copy`); it refuses to embed."""

    model_id = "none"
    dimensions = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("this classifier decides from given similarities; it has no embedding model")


class IndustryClassifier:
    """Classify stories into a taxonomy's industries (see the module docstring)."""

    def __init__(
        self,
        taxonomy: Taxonomy,
        embedder: Embedder | None = None,
        *,
        min_confidence: float = MIN_CONFIDENCE,
        embed_weight: float = EMBED_WEIGHT,
        fallback: str | None = "other",
    ) -> None:
        self.taxonomy = taxonomy
        self.embedder = embedder
        self.ids = taxonomy.ids
        self.min_confidence = min_confidence
        self.embed_weight = embed_weight if embedder is not None else 0.0
        self.fallback = fallback if fallback in self.ids else None
        concepts = [concept_for(i.id, i.name) for i in taxonomy.industries]
        present = {c for c in concepts if c}
        lists: list[list[str]] = []
        for concept in concepts:
            group = [concept] if concept else []
            if concept == "other":
                group += [c for c in FOLDABLE if c not in present]
            lists.append(group)
        self.concepts = concepts
        self._lexicon = _build_lexicon(lists)
        self._prototypes: np.ndarray | None = None

    # -- embeddings ---------------------------------------------------------------------------
    def _prototype_means(self) -> np.ndarray:
        """One row per industry: the mean embedding of its name and description sentences
        (the mean of cosine similarities to several prototypes is the dot product with
        their mean vector)."""
        import numpy as np

        if self._prototypes is None:
            texts: list[str] = []
            owners: list[int] = []
            for index, ind in enumerate(self.taxonomy.industries):
                for proto in [ind.name, *sentences(" ".join(ind.description.split()))]:
                    texts.append(proto)
                    owners.append(index)
            assert self.embedder is not None  # checked by the caller
            vectors = self.embedder.embed(texts)
            owner_arr = np.array(owners)
            self._prototypes = np.stack([vectors[owner_arr == i].mean(axis=0) for i in range(len(self.ids))])
        return self._prototypes

    def similarities(self, texts: Sequence[str]) -> np.ndarray:
        """Mean cosine similarity of each text to each industry's prototypes
        (rows: texts, columns: taxonomy order)."""
        import numpy as np

        if self.embedder is None or not texts:
            return np.zeros((len(texts), len(self.ids)), dtype=np.float32)
        means = self._prototype_means()
        return self.embedder.embed(list(texts)) @ means.T

    # -- scoring ------------------------------------------------------------------------------
    def keyword_scores(self, views: dict[str, str]) -> list[float]:
        """Per industry: the sum over views of ``weight * log(1 + keyword weight found)``;
        each view saturates on its own, so one long technical body cannot drown the
        customer's one-line self-description."""
        n = len(self.ids)
        total = [0.0] * n
        for view, weight in VIEW_WEIGHTS.items():
            hits = _keyword_hits(self._lexicon, views.get(view, ""), n)
            for i in range(n):
                total[i] += weight * math.log1p(hits[i])
        return total

    def _decide(
        self, keyword: list[float], sims: Sequence[float] | np.ndarray
    ) -> tuple[str | None, float, list[float]]:
        scores = [self.embed_weight * float(s) + k for s, k in zip(sims, keyword)]
        top = max(range(len(scores)), key=lambda i: scores[i])
        peak = scores[top]
        exps = [math.exp((s - peak) / SOFTMAX_TEMPERATURE) for s in scores]
        confidence = exps[top] / sum(exps)
        if confidence < self.min_confidence:
            return self.fallback, confidence, scores
        return self.ids[top], confidence, scores

    def classify(
        self, title: str, text: str, meta: dict[str, Any] | None = None, customer: str | None = None
    ) -> tuple[str | None, float]:
        """(taxonomy id, confidence) for one story; ``customer`` saves finding it again."""
        return self.classify_many([(title, text, meta or {})], customers=[customer])[0]

    def classify_many(
        self,
        stories: Sequence[tuple[str, str, dict[str, Any] | None]],
        batch_size: int = 64,
        customers: Sequence[str | None] | None = None,
    ) -> list[tuple[str | None, float]]:
        """Classify many (title, text, meta) stories, embedding their short views in batches.
        ``customers`` (one per story, None to find it) saves extracting the customer twice."""
        evidence = self.embed_many(stories, batch_size)
        return [
            self.decide(title, text, found, customers[index] if customers is not None else None)
            for index, ((title, text, _), found) in enumerate(zip(stories, evidence, strict=True))
        ]

    def embed_many(
        self,
        stories: Sequence[tuple[str, str, dict[str, Any] | None]],
        batch_size: int = 64,
    ) -> list[tuple[str, float] | np.ndarray]:
        """The part of :meth:`classify_many` that needs the model: per story, ``(industry, 1.0)``
        when its metadata names one, else its row of similarities, embedded in batches.
        :meth:`decide` finishes the job (pure Python, so it can run in another process)."""
        out: list = [None] * len(stories)
        pending: list[tuple[int, str]] = []
        for index, (title, text, meta) in enumerate(stories):
            hit = industry_from_meta(meta, self.taxonomy)
            if hit:
                out[index] = (hit, 1.0)
            else:
                pending.append((index, embed_view(title, text)))
        for start in range(0, len(pending), batch_size):
            chunk = pending[start : start + batch_size]
            sims = self.similarities([embed for _, embed in chunk])
            for (index, _), row in zip(chunk, sims):
                out[index] = row
        return out

    def decide(
        self, title: str, text: str, found: tuple[str, float] | np.ndarray, customer: str | None = None
    ) -> tuple[str | None, float]:
        """(taxonomy id, confidence) from what :meth:`embed_many` found for the story."""
        if isinstance(found, tuple):
            return found
        industry, confidence, _ = self._decide(self.keyword_scores(story_views(title, text, customer)), found)
        return industry, round(confidence, 4)

    def deciding_copy(self) -> IndustryClassifier:
        """This classifier without its model, for :meth:`decide` in a worker process."""
        clone = copy.copy(self)
        clone.embedder, clone._prototypes = cast("Embedder", NoEmbedder()), None
        return clone

    def explain(self, title: str, text: str) -> dict[str, dict[str, float]]:
        """Per-industry keyword score, similarity and total, for one story."""
        views = story_views(title, text)
        keyword = self.keyword_scores(views)
        sims = self.similarities([views["embed"]])[0]
        _, _, scores = self._decide(keyword, sims)
        return {
            i: {"keywords": round(keyword[n], 3), "similarity": round(float(sims[n]), 4), "score": round(scores[n], 3)}
            for n, i in enumerate(self.ids)
        }


@lru_cache(maxsize=8)
def default_classifier(taxonomy_path: str | None = None, model: str | None = None) -> IndustryClassifier:
    """A classifier for a taxonomy file (default: Reffy's) with the default embedder."""
    from pathlib import Path

    from reffy.embedder import DEFAULT_MODEL, get_embedder
    from reffy.rubric import load_taxonomy

    taxonomy = load_taxonomy(Path(taxonomy_path) if taxonomy_path else None)
    return IndustryClassifier(taxonomy, get_embedder(model or DEFAULT_MODEL))
