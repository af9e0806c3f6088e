"""Queries a library writes about itself, with graded labels, for training a ranker on it.

Why: a ranker fitted to the dev set would learn the dev set; one trained on questions the
library's own text implies learns this library and can be re-trained whenever it changes. Three
kinds, so that the ranker does not learn only to copy a story's words (the known trap: such
queries favour lexical matching and hurt topical ones):

- ``known``: a story's title as a person half-remembers it (the customer's name out, a third of
  the words dropped, two everyday title words of the library added). Label: that story, 2.
- ``passage``: a sentence from deep in a story's body with half its words dropped (the
  inverse-cloze recipe): the question its passage answers. Label: that story, 2.
- ``topic``: a theme several stories share: a title word (or word pair) that 5-40 titles use.
  The query is the theme plus the words its stories' titles use most distinctively beside it,
  with the theme word itself dropped from half the queries (so meaning, not the word, has to
  find them). Labels: stories titled with the theme 2; stories whose text uses it at least
  three times 1.

Pure given the engine's docs and docstore; seeded, so a re-train on the same library asks the
same questions. Used by ``eval/ranker.py`` only: the rankers trained on these queries were
measured and rejected (eval/README.md, issue 14), so nothing in ``reffy/`` generates them.
"""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reffy.retrieval.engine import SearchEngine

_WORD = re.compile(r"[A-Za-z][A-Za-z-]{2,}")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(slots=True)
class SyntheticQuery:
    id: str
    kind: str  # known | passage | topic
    query: str
    relevant: dict[str, int] = field(default_factory=dict)  # story id -> grade


def _strip(title: str, customer: str | None) -> str:
    if customer:
        title = re.sub(re.escape(customer), " ", title, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", title).strip(" :-|,")


def generate(
    engine: SearchEngine,
    *,
    known: int = 400,
    passage: int = 400,
    topic: int = 300,
    min_df: int = 5,
    max_df: int = 40,
    seed: int = 11,
) -> list[SyntheticQuery]:
    """Synthetic queries over ``engine``'s library (see the module docstring)."""
    from reffy.retrieval.text import STOPWORDS, tokenize

    rng = random.Random(seed)
    docs = [d for d in engine.docs if d.get("title")]
    names = {w for d in docs for w in tokenize(d.get("customer") or "")}
    titles = {d["story_id"]: _strip(d["title"], d.get("customer")) for d in docs}
    title_words = [w for t in titles.values() for w in _WORD.findall(t)]
    out: list[SyntheticQuery] = []

    def drop(words: list[str], share: float) -> list[str]:
        kept = [w for w in words if rng.random() > share]
        return kept or words[:1]

    for d in rng.sample(docs, min(known, len(docs))):
        words = drop(titles[d["story_id"]].split(), 0.33) + rng.sample(title_words, min(2, len(title_words)))
        rng.shuffle(words)
        if len(tokenize(" ".join(words))) >= 2:
            out.append(SyntheticQuery(f"k{len(out)}", "known", " ".join(words), {d["story_id"]: 2}))

    for d in rng.sample(docs, min(passage, len(docs))):
        stored = engine.docstore.get(d["story_id"]) or {}
        chunks = [c[1] if len(c) > 1 else c[0] for c in stored.get("chunks", [])]
        deep = [str(c) for c in chunks[1:]] or [str(c) for c in chunks]
        sentences = [s for c in deep for s in _SENTENCE.split(c) if 8 <= len(s.split()) <= 40]
        if not sentences:
            continue
        words = [w for w in _WORD.findall(rng.choice(sentences)) if w.lower() not in STOPWORDS]
        words = drop(words, 0.5)[:12]
        if len(tokenize(" ".join(words))) >= 3:
            out.append(SyntheticQuery(f"p{len(out)}", "passage", " ".join(words), {d["story_id"]: 2}))

    # themes: title terms (one word or two adjacent) that several titles share
    def terms(title: str) -> set[str]:
        toks = [t for t in tokenize(title) if t not in names]
        return set(toks) | {f"{a} {b}" for a, b in itertools.pairwise(toks)}

    holders: dict[str, set[str]] = {}
    for sid, title in titles.items():
        for t in terms(title):
            holders.setdefault(t, set()).add(sid)
    themes = sorted(t for t, ids in holders.items() if min_df <= len(ids) <= max_df)  # sorted: sets vary by hash seed
    rng.shuffle(themes)
    title_df = Counter(t for title in titles.values() for t in set(tokenize(title)))
    raw_word = {}
    for w in title_words:
        raw_word.setdefault(tokenize(w)[0] if tokenize(w) else w.lower(), w.lower())
    memo: dict[str, Counter[str]] = {}

    def counts(sid: str) -> Counter[str]:
        if sid not in memo:
            memo[sid] = Counter(tokenize((engine.docstore.get(sid) or {}).get("text") or ""))
        return memo[sid]

    for theme in themes[:topic]:
        owners = holders[theme]
        inside = Counter(t for sid in owners for t in set(tokenize(titles[sid])) if t not in names)
        parts = set(theme.split())
        lift = sorted(
            (t for t, n in inside.items() if n >= 2 and t not in parts),
            key=lambda t: (-(inside[t] / len(owners)) / (title_df[t] / len(titles)) ** 0.5, t),
        )
        related = [raw_word.get(t, t) for t in lift[:4]]
        words = rng.sample(related, min(len(related), rng.randint(2, 3)))
        if rng.random() < 0.5 or len(words) < 2:
            words += [raw_word.get(p, p) for p in theme.split()]
        rng.shuffle(words)
        relevant = dict.fromkeys(sorted(owners), 2)
        if len(parts) == 1:
            for sid in sorted(engine.keyword.ids_with(theme) - owners):
                if counts(sid)[theme] >= 3:
                    relevant[sid] = 1
        out.append(SyntheticQuery(f"t{len(out)}", "topic", " ".join(words), relevant))
    return out


def as_eval_rows(queries: list[SyntheticQuery], docs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The queries in the evaluation harness's format (labels by ``source_record_id``), for
    inspecting them with the same tools as the dev set."""
    rows = []
    for q in queries:
        relevant = {str(docs[s].get("source_record_id") or s): g for s, g in q.relevant.items() if s in docs}
        rows.append(
            {
                "id": q.id,
                "kind": "topical" if q.kind == "topic" else "known_item",
                "query": q.query,
                "relevant": relevant,
            }
        )
    return rows
