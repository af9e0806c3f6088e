"""Themes of questions: the questions of a period clustered by meaning and labelled by their
distinctive words.

Vectors come from Reffy's own embedder (the bundled MiniLM on onnxruntime); each distinct question
(case and spacing folded) is embedded once, so a log where people repeat themselves costs what its
distinct questions cost. Clustering is scikit-learn's, imported here only (nothing a person waits on
imports it). The method was chosen by measurement on the synthetic query log of
``tests/querylog.py`` (``python eval/bench_insights.py`` prints the adjusted Rand index of each):
Ward's clustering cut fine, then groups whose centres are close in meaning merged (``ward-merge``),
beat Ward's, average-linkage's and k-means' cuts at the number of groups with the best silhouette
(silhouette keeps rewarding the finest cut: one group per way of asking) and HDBSCAN (the same
splitting, and paraphrases left as noise). It runs on at most ``SAMPLE`` distinct questions; the
rest join the theme whose centre is nearest, or none when no centre is near (``JOIN_SIMILARITY``).

Labels are class-based TF-IDF (as BERTopic computes it): a theme's word frequencies against how
common each word is across all themes, so "claims" labels the insurance theme and "story", said in
every theme, labels none.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

METHODS = ("ward-merge", "ward", "kmeans", "hdbscan")
SAMPLE = 2500  # distinct questions clustered; more join by their nearest centre
MIN_THEME = 5  # questions; smaller groups are "other"
MIN_THEME_SHARE = 0.01  # of the period's questions
MAX_THEMES = 30  # groups of the first, fine cut
MERGE_SIMILARITY = 0.45  # cosine between group centres at which two groups are one theme
COHESION_FLOOR = 0.55  # mean cosine of a theme's questions to its centre: below it, a grab-bag, not a theme
JOIN_SIMILARITY = 0.35  # cosine to a theme's centre for a question outside the sample to join it
TERMS = 6

# Words every request is made of ("which story shows..."), however distinctive in one theme.
_ASKING_LINES = (
    "which what who any find show me need looking look story stories case cases study studies",
    "reference references example examples customer customers please prospect recently proof prove",
    "got get want give tell about quillon our we us did does do",
)
_ASKING = frozenset(word for line in _ASKING_LINES for word in line.split())
_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*[a-z0-9]|[a-z0-9]")


def fold(text: str) -> str:
    """The question as compared: lower case, spacing collapsed, end punctuation off."""
    return " ".join(text.lower().split()).strip(" ?!.")


def words(text: str) -> list[str]:
    from reffy.retrieval.text import STOPWORDS

    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and w not in _ASKING and len(w) > 1]


@dataclass(slots=True)
class Clustering:
    """Labels per distinct question (-1: no theme), the theme centres (unit vectors) and what was tried."""

    labels: np.ndarray
    centres: np.ndarray
    method: str
    k: int
    silhouette: float | None = None
    tried: dict[int, float] = field(default_factory=dict)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def _ks(n: int) -> range:
    return range(2, max(3, min(MAX_THEMES, n // 4) + 1))


def _by_silhouette(method: str, vectors: np.ndarray, seed: int) -> tuple[np.ndarray, int, float, dict[int, float]]:
    """The cut (ward) or k-means fit whose number of groups has the best cosine silhouette."""
    from sklearn.metrics import silhouette_score

    tree = None
    if method == "ward":
        from scipy.cluster.hierarchy import linkage

        tree = linkage(vectors, method="ward")
    tried: dict[int, float] = {}
    best_s, best_k, best = -2.0, 0, np.zeros(len(vectors), dtype=np.int64)
    for k in _ks(len(vectors)):
        if method == "kmeans":
            from sklearn.cluster import KMeans

            found = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(vectors)
        else:
            from scipy.cluster.hierarchy import fcluster

            found = fcluster(tree, k, criterion="maxclust") - 1
        if len(set(found.tolist())) < 2:
            continue
        score = float(silhouette_score(vectors, found, metric="cosine"))
        tried[k] = round(score, 4)
        if score > best_s:
            best_s, best_k, best = score, k, found
    return best, best_k, best_s, tried


def _ward_merge(vectors: np.ndarray) -> tuple[np.ndarray, int]:
    """Ward's clustering cut fine (MAX_THEMES groups: one way of asking each, typically), then
    groups whose centres are within MERGE_SIMILARITY of each other (average linkage on cosine)
    merged into one theme. Silhouette, which rewards tight groups, keeps choosing the finest cut
    here; what makes a theme is that its ways of asking mean nearly the same thing."""
    from sklearn.cluster import AgglomerativeClustering

    groups = min(MAX_THEMES, max(2, len(vectors) // 4))
    fine = AgglomerativeClustering(n_clusters=groups, linkage="ward").fit_predict(vectors)
    centres = _centres(vectors, fine)
    if len(centres) < 2:
        return fine, len(centres)
    merged = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=1 - MERGE_SIMILARITY
    ).fit_predict(centres)
    return merged[fine], int(merged.max()) + 1


def cluster(
    vectors: np.ndarray, weights: Sequence[int] | None = None, *, method: str = "ward-merge", seed: int = 0
) -> Clustering:
    """Cluster unit ``vectors`` (one per distinct question; ``weights``: how often each was asked).
    Themes smaller than MIN_THEME questions (or MIN_THEME_SHARE of them) become -1."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    n = len(vectors)
    weight = np.asarray(weights if weights is not None else [1] * n, dtype=np.int64)
    vectors = _unit(np.asarray(vectors, dtype=np.float32))
    if n < 2 * MIN_THEME:
        return Clustering(np.full(n, -1), np.zeros((0, vectors.shape[1] if n else 0), np.float32), method, 0)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, SAMPLE, replace=False)) if n > SAMPLE else np.arange(n)
    fit_on = vectors[sample]
    tried: dict[int, float] = {}
    silhouette = None
    if method == "hdbscan":
        from sklearn.cluster import HDBSCAN

        labels = HDBSCAN(min_cluster_size=MIN_THEME, copy=True).fit_predict(fit_on)
        k = int(labels.max()) + 1
    elif method == "ward-merge":
        labels, k = _ward_merge(fit_on)
    else:
        labels, k, silhouette, tried = _by_silhouette(method, fit_on, seed)
    full = np.full(n, -1, dtype=np.int64)
    full[sample] = labels
    centres = _centres(vectors, full)
    if n > len(sample):  # the rest join the nearest centre, when it is near
        rest = np.setdiff1d(np.arange(n), sample)
        if len(centres):
            sims = vectors[rest] @ centres.T
            best = sims.argmax(axis=1)
            full[rest] = np.where(sims[np.arange(len(rest)), best] >= JOIN_SIMILARITY, best, -1)
    full = _drop_loose(vectors, _drop_small(full, weight))
    return Clustering(full, _centres(vectors, full), method, k, silhouette, tried)


def cohesion(vectors: np.ndarray, labels: np.ndarray, centres: np.ndarray, theme: int) -> float:
    """Mean cosine of the theme's questions to its centre (1.0: all say the same thing)."""
    members = labels == theme
    return float((vectors[members] @ centres[theme]).mean()) if members.any() else 0.0


def _drop_loose(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Groups under COHESION_FLOOR (one-off questions about everything, clustered together only
    because they fit nowhere else) become -1; the rest renumbered in order."""
    centres = _centres(vectors, labels)
    kept = [c for c in range(len(centres)) if cohesion(vectors, labels, centres, c) >= COHESION_FLOOR]
    renumber = {c: i for i, c in enumerate(kept)}
    return np.array([renumber.get(int(label), -1) for label in labels], dtype=np.int64)


def _centres(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    k = int(labels.max()) + 1 if len(labels) else 0
    if k <= 0:
        return np.zeros((0, vectors.shape[1]), dtype=np.float32)
    return _unit(
        np.stack([vectors[labels == c].mean(axis=0) if (labels == c).any() else vectors[0] * 0 for c in range(k)])
    )


def _drop_small(labels: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Themes too small to be one become -1; the rest renumbered, largest first."""
    total = int(weight.sum())
    floor = max(MIN_THEME, math.ceil(MIN_THEME_SHARE * total))
    sizes: Counter[int] = Counter()
    for label, w in zip(labels.tolist(), weight.tolist(), strict=True):
        if label >= 0:
            sizes[label] += w
    kept = [c for c, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])) if size >= floor]
    renumber = {c: i for i, c in enumerate(kept)}
    return np.array([renumber.get(int(label), -1) for label in labels], dtype=np.int64)


def ctfidf_terms(
    texts: Sequence[str], labels: Sequence[int], weights: Sequence[int], top: int = TERMS
) -> dict[int, list[str]]:
    """The ``top`` distinctive words and word pairs of each theme by class-based TF-IDF:
    tf(t, c) / words in c, times log(1 + average words per theme / frequency of t in all themes)."""
    counts: dict[int, Counter[str]] = {}
    for text, label, weight in zip(texts, labels, weights, strict=True):
        if label < 0:
            continue
        tokens = words(text)
        grams = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
        bag = counts.setdefault(int(label), Counter())
        for gram in set(grams):  # a word said twice in one question is one vote
            bag[gram] += weight
    if not counts:
        return {}
    overall: Counter[str] = Counter()
    for bag in counts.values():
        overall.update(bag)
    average = sum(overall.values()) / len(counts)
    out = {}
    for label, bag in counts.items():
        size = sum(bag.values()) or 1
        scored = {t: (n / size) * math.log(1 + average / overall[t]) for t, n in bag.items() if n >= 2}
        ranked = sorted(scored, key=lambda t: (-scored[t], t))
        chosen: list[str] = []
        for term in ranked:  # a pair beats its words alone; a word already in a chosen pair adds nothing
            if any(term in c.split() for c in chosen if " " in c):
                continue
            chosen = [c for c in chosen if not (" " in term and c in term.split())]
            chosen.append(term)
            if len(chosen) == top:
                break
        out[label] = chosen
    return out


def representatives(vectors: np.ndarray, labels: np.ndarray, centres: np.ndarray, theme: int, n: int = 3) -> list[int]:
    """Indexes of the ``n`` questions of ``theme`` nearest its centre (its most typical questions)."""
    members = np.flatnonzero(labels == theme)
    if not len(members):
        return []
    sims = vectors[members] @ centres[theme]
    return [int(members[i]) for i in np.argsort(-sims)[:n]]


def assign(vectors: np.ndarray, centres: np.ndarray, threshold: float = JOIN_SIMILARITY) -> np.ndarray:
    """The theme each vector belongs to (nearest centre at or above ``threshold``), else -1: how
    the previous period's questions are counted against this period's themes."""
    if not len(vectors) or not len(centres):
        return np.full(len(vectors), -1, dtype=np.int64)
    sims = _unit(np.asarray(vectors, dtype=np.float32)) @ centres.T
    best = sims.argmax(axis=1)
    return np.where(sims[np.arange(len(vectors)), best] >= threshold, best, -1)
