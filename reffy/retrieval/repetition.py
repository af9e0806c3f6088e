"""Keyword stuffing kept out of the indexes.

A story that repeats popular words ("bank insurance retail chatbot cost ...", over and over)
would otherwise match every query: BM25 saturates each term's frequency but still rewards a text
that contains all of them, and a vector of a bag of popular words sits near the centre of the
library, close to every query. Such text is easy to tell from prose, window by window (800
characters), in one of two ways:

* its words repeat themselves literally, so they compress far better: over the 23,895 windows
  of the shared corpus of 1,483 published case studies, zlib shrinks the words of none below
  0.40 of their size; a paragraph said twice to about 0.27, a phrase repeated to about 0.1
  (:data:`FLOOR` 0.20: three copies or more);
* it is a word list, not sentences: almost no function words (*the, of, and*: under 10% of its
  words, where corpus prose has 31% at the median) and its content words recur (under 60%
  distinct). Bullet lists in the corpus have few function words too, but their words are
  distinct; shuffled popular terms have 0-4% function words and 46-55% distinct.

Judged on 189,603 corpus pieces of 300-1,200 characters (chunk sizes), two are taken for
stuffing, both from one table of model names and scores.
Such windows are left out of what is indexed (keyword text, summary, introduction and chunk
vectors); what is shown and stored is untouched. The thresholds are set from natural text with a
margin, not tuned on queries: no corpus story or summary loses a window.
"""

from __future__ import annotations

import re
import zlib

from reffy.retrieval.text import STOPWORDS

WINDOW = 800  # characters per judged window, about (a text is cut into equal windows, at spaces)
MIN_JUDGED = 200  # characters: shorter texts are too short to judge
MIN_WORDS = 30  # nor are windows with fewer words (a table of figures)
RUN_ON_WORDS = 60  # a "sentence" this long without a full stop is judged on its own
FLOOR = 0.20  # compressed / raw size of its words below which a window repeats itself
FUNCTION_WORDS_MAX = 0.10  # a word list: fewer function words than this share of its words ...
DISTINCT_MAX = 0.60  # ... and fewer distinct content words than this share of them
_WORDS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def windows(text: str, size: int = WINDOW) -> list[str]:
    """``text`` cut into consecutive pieces of equal length, about ``size`` characters (so no
    short tail escapes judgement), at spaces; joined back they give ``text``."""
    pieces = max(1, round(len(text) / size))
    size = -(-len(text) // pieces)
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            space = text.rfind(" ", start + size // 2, end)
            end = space if space > start else end
        out.append(text[start:end])
        start = end
    return out


def compressibility(text: str) -> float:
    """zlib's compressed size over the raw size (UTF-8): ~0.45-0.6 for prose, lower the more a
    text repeats itself."""
    raw = text.encode("utf-8")
    return len(zlib.compress(raw, 9)) / len(raw) if raw else 1.0


def repetitive(window: str, min_words: int = MIN_WORDS) -> bool:
    """Whether a window is stuffing: its words repeat literally (they compress too well), or they
    are a list without sentences (few function words, content words that recur). Judged on the
    words alone, so tables and markup, which compress well for other reasons, are not."""
    words = [w.lower() for w in _WORDS.findall(window)]
    if len(words) < min_words:
        return False
    if compressibility(" ".join(words)) < FLOOR:
        return True
    content = [w for w in words if w not in STOPWORDS]
    function_share = 1 - len(content) / len(words)
    return function_share < FUNCTION_WORDS_MAX and len(set(content)) < DISTINCT_MAX * len(content)


_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")


def without_repetition(text: str) -> str:
    """``text`` without its repetitive parts (unchanged when it has none: the common case). Long
    run-on "sentences" (a word list has no full stops) are judged first, so stuffing glued to a
    real paragraph goes whole; then windows, for stuffing broken into short pieces."""
    if len(text) < MIN_JUDGED:
        return text
    sentences = _SENTENCES.split(text)
    kept = [s for s in sentences if not repetitive(s, RUN_ON_WORDS)]
    if len(kept) != len(sentences):
        text = " ".join(s.strip() for s in kept)
    parts = windows(text)
    kept = [w for w in parts if not repetitive(w)]
    return text if len(kept) == len(parts) else " ".join(w.strip() for w in kept)
