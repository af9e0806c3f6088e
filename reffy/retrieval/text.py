"""Tokenisation for keyword search. Documents and queries must go through the same
function, so any change here changes ``TOKENIZER_VERSION`` and forces an index rebuild.

Choices (each tested in ``tests/retrieval/test_keyword_index.py``):

* NFKC, case-folded, Latin accents stripped (``Nestlé`` == ``nestle``: queries are typed
  without them); tokens are Unicode letter/digit runs, so non-Latin scripts still index
  (CJK runs are not segmented).
* English stopwords (the list below) are dropped, as are single letters; numbers are kept
  (``2023``, ``1,500`` -> ``1500``, ``3.5``).
* Snowball English stemming (PyStemmer), plus one fix Snowball lacks: vowel-less
  acronym plurals lose their ``s`` (``LLMs`` -> ``llm``, ``GPTs`` -> ``gpt``).
* Hyphenated terms yield their parts *and* the joined form: ``e-commerce`` ->
  ``commerc``, ``ecommerc``, so ``e-commerce``, ``ecommerce`` and ``e commerce`` all
  meet. Possessive ``'s`` is dropped and inner apostrophes removed (``O'Reilly`` ->
  ``oreilli``).
"""

from __future__ import annotations

import re
import unicodedata

import Stemmer

TOKENIZER_VERSION = "reffy-tok-1+snowball-english"

STOPWORDS: frozenset[str] = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "can't",
        "cannot",
        "could",
        "couldn't",
        "did",
        "didn't",
        "do",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "either",
        "etc",
        "few",
        "for",
        "from",
        "further",
        "had",
        "hadn't",
        "has",
        "hasn't",
        "have",
        "haven't",
        "having",
        "he",
        "he'd",
        "he'll",
        "he's",
        "her",
        "here",
        "here's",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "how's",
        "however",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it's",
        "its",
        "itself",
        "just",
        "let's",
        "may",
        "me",
        "might",
        "more",
        "most",
        "must",
        "mustn't",
        "my",
        "myself",
        "neither",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "per",
        "same",
        "shall",
        "shan't",
        "she",
        "she'd",
        "she'll",
        "she's",
        "should",
        "shouldn't",
        "so",
        "some",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "there's",
        "these",
        "they",
        "they'd",
        "they'll",
        "they're",
        "they've",
        "this",
        "those",
        "through",
        "thus",
        "to",
        "too",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "very",
        "via",
        "was",
        "wasn't",
        "we",
        "we'd",
        "we'll",
        "we're",
        "we've",
        "were",
        "weren't",
        "what",
        "what's",
        "when",
        "when's",
        "where",
        "where's",
        "whether",
        "which",
        "while",
        "who",
        "who's",
        "whom",
        "whose",
        "why",
        "why's",
        "will",
        "with",
        "within",
        "without",
        "won't",
        "would",
        "wouldn't",
        "yet",
        "you",
        "you'd",
        "you'll",
        "you're",
        "you've",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)

_NUM = r"\d+(?:[.,]\d+)+"
_WORD = r"[^\W_]+(?:['’][^\W_]+)*"
_PART = rf"(?:{_NUM}|{_WORD})"
_TOKEN_RE = re.compile(rf"{_PART}(?:[-‐‑]{_PART})*")
_HYPHENS_RE = re.compile(r"[-‐‑]")
_ACCENTS_RE = re.compile(r"[\u0300-\u036f]")  # combining diacritics of Latin/Greek/Cyrillic only
_VOWELS = frozenset("aeiouy")
_CACHE_MAX = 1_000_000

_stemmer = Stemmer.Stemmer("english")
_cache: dict[str, tuple[str, ...]] = {}  # raw token -> output tokens (often one, () for stopwords)


def normalise(text: str) -> str:
    """Case-fold, NFKC, strip Latin accents. ASCII text (the common case) skips the Unicode work."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFKC", _ACCENTS_RE.sub("", text))


def _word(raw: str) -> str | None:
    """One hyphen-free piece -> its index term, or None when it carries no meaning."""
    if "’" in raw:
        raw = raw.replace("’", "'")
    if raw in STOPWORDS:
        return None
    if "'" in raw:
        if raw.endswith("'s"):
            raw = raw[:-2]
        raw = raw.replace("'", "")
    if raw[0].isdigit():
        return raw.replace(",", "")
    if len(raw) < 2 or raw in STOPWORDS:
        return None
    stem = _stemmer.stemWord(raw)
    if stem.endswith("s") and len(stem) > 3 and stem == raw and not _VOWELS & set(stem[:-1]):
        stem = stem[:-1]  # acronym plural Snowball leaves alone: llms, gpts, kpis stays kpi
    return stem


def _analyse(raw: str) -> tuple[str, ...]:
    if "-" in raw or "‐" in raw or "‑" in raw:
        parts = [p for p in _HYPHENS_RE.split(raw) if p]
        out = [w for w in map(_word, parts) if w]
        joined = _word("".join(p.replace("'", "").replace("’", "") for p in parts))
        if joined and joined not in out:
            out.append(joined)
        result = tuple(out)
    else:
        word = _word(raw)
        result = (word,) if word else ()
    if len(_cache) >= _CACHE_MAX:
        _cache.clear()
    _cache[raw] = result
    return result


def tokenize(text: str) -> list[str]:
    """Text -> index terms, in order (repeats kept: BM25 needs term frequencies)."""
    if not text:
        return []
    cache = _cache
    return [
        term for raw in _TOKEN_RE.findall(normalise(text)) for term in (cache[raw] if raw in cache else _analyse(raw))
    ]
