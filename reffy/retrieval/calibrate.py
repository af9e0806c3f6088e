"""The no-answer signal, calibrated on the library it serves instead of on a handful of labelled
queries.

Why: the built-in rule (:meth:`SearchEngine._no_answer`) has four cosine and coverage thresholds
fitted to the dev set's four no-answer queries; on new queries it flagged 4-10 % of answerable
ones. Here the library writes its own exam:

- **answerable**: a story's title as a person half-remembers it (the customer's name out, some
  words dropped, a few of the library's everyday title words added), searched in the whole
  library, where its story is;
- **unanswerable**: a *held-aside topic*: a distinctive title word that at most a few stories
  use; every story using it is searched as if absent (``SearchEngine.search(exclude=...)``), and
  that title, treated the same way, is the query.

The fitted part reads one library-relative signal, *coverage*: the best share of the query's
IDF-weighted vocabulary that one of the top three stories holds. Its threshold is the
``max_false_flags`` quantile of the answerable exam's coverage, so at most that share of
answerable questions is told "no strong match" by it; the unanswerable exam reports what it
catches. One knob, fitted on the library, re-fitted by ``reffy tune``. The engine flags a search
when this threshold or the built-in meaning-based rule says so: coverage catches questions whose
words the library lacks (a shipyard, a winery), the built-in rule questions whose words are all
there but whose meaning is not. Measured (``eval/no_answer.py``): on the dev set, 3 of 4
no-answer queries and 1 of 36 answerable ones flagged, in both settings (built-in alone: 2 of 4,
1 of 36); on our own validation set 3 of 5 and 0 of 35 (as the built-in rule; coverage alone
caught only 1-2 of 5); tuned on half the corpus, 4 of 4 and 1 of 30. Tried and rejected: a
logistic model over coverage and three cosine signals fitted on the same exam (the exam separates
perfectly, and on the dev set it flagged 3 of 36 answerable queries: the cosines of the exam's
title queries do not look like people's questions), and coverage alone (see above).
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reffy.retrieval.engine import SearchEngine

CALIBRATION_VERSION = 1
DEFAULT_MAX_FALSE_FLAGS = 0.01
_WORD = re.compile(r"[A-Za-z][A-Za-z-]{4,}")


@dataclass(slots=True)
class NoAnswerModel:
    """``flags`` a search whose top stories cover less than ``threshold`` of the query."""

    threshold: float
    max_false_flags: float = DEFAULT_MAX_FALSE_FLAGS
    version: int = CALIBRATION_VERSION
    stories: int = 0  # library size when fitted (the re-tune suggestion compares against it)
    fitted_at: str = ""
    facts: dict[str, Any] = field(default_factory=dict)  # exam sizes, rates, seconds

    def flags(self, signals: dict[str, float]) -> bool:
        return signals.get("coverage", 0.0) < self.threshold

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def from_manifest(manifest: dict[str, Any]) -> NoAnswerModel | None:
    """The calibration the index manifest records (``reffy tune`` wrote it there, so a running
    server reloads with it), when this Reffy reads its version; None: the built-in rule applies."""
    raw = manifest.get("no_answer")
    if not isinstance(raw, dict):
        return None
    try:
        model = NoAnswerModel(**raw)
    except TypeError:
        return None
    return model if model.version == CALIBRATION_VERSION else None


def grown_since(model: NoAnswerModel, stories: int) -> float:
    """How much the library changed in size since the calibration (0.3 = 30 % more or fewer)."""
    return abs(stories - model.stories) / model.stories if model.stories else 0.0


# -- fitting: pure --------------------------------------------------------------------------
def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values``, the observed value at or below it (never interpolated:
    the threshold is a coverage some exam question really had)."""
    import numpy as np

    return float(np.quantile(np.asarray(values, dtype=float), q, method="lower"))


def fit(
    answerable: list[float], unanswerable: list[float], *, max_false_flags: float = DEFAULT_MAX_FALSE_FLAGS
) -> NoAnswerModel:
    """The coverage threshold that flags at most ``max_false_flags`` of the answerable exam."""
    if len(answerable) < 20 or not unanswerable:
        raise ValueError(
            f"too small an exam to calibrate on ({len(answerable)} answerable, "
            f"{len(unanswerable)} held-aside topics): a library needs a few dozen stories"
        )
    threshold = quantile(answerable, max_false_flags)
    model = NoAnswerModel(threshold=round(threshold, 4), max_false_flags=max_false_flags)
    model.facts = {
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "exam_false_flags": round(sum(c < model.threshold for c in answerable) / len(answerable), 4),
        "exam_recall": round(sum(c < model.threshold for c in unanswerable) / len(unanswerable), 4),
    }
    return model


# -- the exam: needs a loaded engine ---------------------------------------------------------
def _strip(title: str, customer: str | None) -> str:
    if customer:
        title = re.sub(re.escape(customer), " ", title, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", title).strip(" :-|,")


def exam(
    engine: SearchEngine,
    *,
    answerable: int = 400,
    unanswerable: int = 120,
    max_df: int = 3,
    drop: float = 0.3,
    noise: int = 2,
    seed: int = 7,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(answerable, unanswerable) exam queries with the signals hybrid search gave each."""
    from reffy.retrieval.text import STOPWORDS, tokenize

    rng = random.Random(seed)
    docs = [d for d in engine.docs if d.title]
    names = {w for d in docs for w in tokenize(d.customer or "")}
    title_words = [w for d in docs for w in _WORD.findall(_strip(d.title, d.customer))]

    def asked(title: str, keep: str = "") -> str:
        """A title as a person would half-remember it: some words dropped, a few of the
        library's everyday title words added (so coverage is partial, as in real questions)."""
        words = [w for w in title.split() if w.lower() == keep or rng.random() > drop]
        words += rng.sample(title_words, min(noise, len(title_words)))
        rng.shuffle(words)
        return " ".join(words)

    positives = []
    for d in rng.sample(docs, min(answerable, len(docs))):
        query = asked(_strip(d.title, d.customer))
        if len(tokenize(query)) >= 2:
            positives.append({"query": query, "story": d.story_id, "exclude": frozenset()})
    # held-aside topics: a title word few stories use (not a name, not a stopword)
    holders: dict[str, set[str]] = {}
    for d in docs:
        for raw in set(_WORD.findall(_strip(d.title, d.customer))):
            terms = tokenize(raw)
            if len(terms) != 1 or terms[0] in names or raw.lower() in STOPWORDS:
                continue
            holders.setdefault(terms[0], set())
    for term in holders:
        holders[term] = engine.keyword.ids_with(term)
    topics = [t for t, ids in holders.items() if 1 <= len(ids) <= max_df]
    rng.shuffle(topics)
    negatives: list[dict[str, Any]] = []
    used: set[str] = set()
    for term in topics:
        if len(negatives) >= unanswerable:
            break
        owners = holders[term] - used
        titled = [engine.by_id[s] for s in owners if s in engine.by_id and term in tokenize(engine.by_id[s].title)]
        if not titled or len(owners) != len(holders[term]):
            continue
        title = _strip(titled[0].title, titled[0].customer)
        query = asked(title, keep=next((w.lower() for w in title.split() if tokenize(w) == [term]), ""))
        if len(tokenize(query)) >= 2:
            negatives.append({"query": query, "topic": term, "exclude": frozenset(owners)})
            used |= owners
    for item in (*positives, *negatives):
        res = engine.search(item["query"], k=10, mode="hybrid", exclude=item["exclude"])
        item["signals"] = dict(res.signals)
        item["flagged_by_rule"] = res.no_answer
    return positives, negatives


def calibrate(
    engine: SearchEngine, *, max_false_flags: float = DEFAULT_MAX_FALSE_FLAGS, **exam_args: Any
) -> NoAnswerModel:
    """Sit the exam and fit the threshold. Writes nothing: :func:`layout.record_calibration` stores it."""
    from datetime import UTC, datetime

    started = time.perf_counter()
    positives, negatives = exam(engine, **exam_args)
    model = fit(
        [p["signals"]["coverage"] for p in positives],
        [n["signals"]["coverage"] for n in negatives],
        max_false_flags=max_false_flags,
    )
    model.stories = len(engine.docs)
    model.fitted_at = datetime.now(UTC).isoformat(timespec="seconds")
    cut = model.threshold
    model.facts.update(
        {
            "seconds": round(time.perf_counter() - started, 1),
            "combined_false_flags": round(
                sum(p["flagged_by_rule"] or p["signals"]["coverage"] < cut for p in positives) / len(positives), 4
            ),
            "combined_recall": round(
                sum(n["flagged_by_rule"] or n["signals"]["coverage"] < cut for n in negatives) / len(negatives), 4
            ),
            "built_in_rule_false_flags": round(sum(p["flagged_by_rule"] for p in positives) / len(positives), 4),
            "built_in_rule_recall": round(sum(n["flagged_by_rule"] for n in negatives) / len(negatives), 4),
        }
    )
    return model
