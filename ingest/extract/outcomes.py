"""Quantified results: the sentences (or clauses) of a story that report a measured outcome.

A sentence qualifies when it has a *figure* (a percentage or percentage points, a
multiplier such as "3x" or "four times", a currency amount, a duration, or a
"from X to Y" change) and a *result cue* (reduced, cut, fell, increased, rose, improved,
saved, grew, doubled, halved, faster, fewer, lower, ...). Sentences under a "challenge",
"problem" or "background" heading describe the situation before, not a result, and are
skipped unless they also read as an improvement. Long sentences are cut to the clause
that holds the figure. :func:`find_figures` returns the figures themselves.
"""

from __future__ import annotations

import re

from ingest.extract.text import ASCII_FOLDS, all_sentences, nfc

_NUM = r"(?:\d{1,3}(?:[,\u202f\u00a0]\d{3})+|\d+)(?:[.,]\d+)?"
_WORD_NUM = r"(?:two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|fifty|a hundred|hundred)"
FIGURE = re.compile(
    rf"(?:"
    rf"[-+~≈]?{_NUM}\s?(?:%|percent\b|per cent\b|percentage points?\b|pp\b|pts\b)"  # percentages
    rf"|{_NUM}\s?(?:x|×)(?![\w])|{_NUM}-?fold\b|(?:{_NUM}|{_WORD_NUM})\s+times\b"  # multipliers
    rf"|(?:[$€£¥₹]|USD\s?|EUR\s?|GBP\s?|US\$\s?){_NUM}\s?(?:[kKmMbB]n?\b|thousand\b|million\b|billion\b|bn\b)?"  # money
    rf"|{_NUM}\s?(?:million|billion|thousand|[kKmM])?\s?(?:dollars|euros|pounds|USD|EUR|GBP)\b"
    rf"|(?:{_NUM}|{_WORD_NUM}|a few|several)[\s-](?:milliseconds?|ms|seconds?|secs?|minutes?|mins?|hours?|hrs?|"
    rf"days?|weeks?|months?|years?)\b"  # durations
    rf"|\b\d{{1,2}}:\d{{2}}\b"  # clock durations (9:40)
    rf"|\b(?:doubled|tripled|quadrupled|halved)\b"
    rf")",
    re.IGNORECASE,
)
_VALUE = rf"[$€£]?(?:\d{{1,2}}:\d{{2}}|{_NUM})"
_UNIT = (r"(?:\s?(?:%|x\b|percent\b|ms\b|milliseconds?\b|seconds?\b|minutes?\b|hours?\b|days?\b|weeks?\b|"
         r"months?\b|years?\b|[kKmM]\b|million\b|billion\b))?")
_FROM_TO = re.compile(rf"\bfrom\s+(?:about\s+|around\s+|over\s+|under\s+|nearly\s+|almost\s+|just\s+)?{_VALUE}"
                      rf"[^.;]{{0,40}}?\bto\s+(?:about\s+|around\s+|under\s+|just\s+|less than\s+)?{_VALUE}{_UNIT}",
                      re.IGNORECASE)
RESULT_CUES = re.compile(
    r"\b(?:reduc\w*|cut|cuts|cutting|fell|fall(?:s|en)?|drop(?:ped|s)?|shr[aiu]nk\w*|slash\w*|trimm?\w*|"
    r"plung\w*|jump\w*|climb\w*|surg\w*|soar\w*|raised|decreas\w*|lower(?:ed)?|down|declin\w*|"
    r"increas\w*|rose|rise[sn]?|up|improv\w*|boost\w*|sav(?:ed|es|ing|ings)|grew|grow(?:s|n|th)?|doubl\w*|"
    r"halv\w*|tripl\w*|accelerat\w*|faster|quicker|shorter|shortened|fewer|less|more|higher|better|achiev\w*|"
    r"deliver\w*|gain\w*|eliminat\w*|sped|speed(?:ed|s)? up|uplift|lift(?:ed)?|resolv\w*|automat\w*|deflect\w*|"
    r"outperform\w*|surpass\w*|exceed\w*|roi|return on investment|payback|avoid\w*|freed|handl(?:ed|es)|"
    r"answer(?:ed|s)|contain(?:ed|ment)|success rate|accuracy|precision|recall|conversion|retention|"
    r"satisfaction|nps|csat|adoption|from\s+\S+\s+to)\b",
    re.IGNORECASE,
)
_BEFORE_HEADINGS = re.compile(r"\b(?:challenge|problem|background|context|situation|before|pain|about|company|"
                              r"overview|introduction)\b", re.IGNORECASE)
_RESULT_HEADINGS = re.compile(r"\b(?:result|outcome|impact|benefit|metric|roi|achievement|success|numbers|"
                              r"value|performance|improvement|business case)\b", re.IGNORECASE)
_NOT_RESULT = re.compile(r"\b(?:aims? to|plans? to|expects? to|hopes? to|target(?:s|ing)?|goal|could|would|"
                         r"might|up to \d+ (?:users|requests)|version|GPT-\d|year-old)\b", re.IGNORECASE)
_IMPROVEMENT = re.compile(r"\b(?:reduc\w*|cut|improv\w*|sav\w*|fewer|faster|down from|halv\w*|doubl\w*)\b",
                          re.IGNORECASE)
_CLAUSE_SPLIT = re.compile(r";\s+|\s+[—–]\s+|,\s+(?=(?:and|while|whereas|but|with|which|as|plus)\s)|:\s+(?=[A-Z0-9])")


def find_figures(text: str) -> list[str]:
    """Every figure in the text as written ("38%", "3x", "€1.2 million", "16 weeks",
    "from 71% to 83%"), in order, without duplicates."""
    text = nfc(text)
    spans: list[tuple[int, int]] = []
    for m in _FROM_TO.finditer(text):
        spans.append((m.start(), m.end()))
    for m in FIGURE.finditer(text):
        if not any(s <= m.start() < e for s, e in spans):
            spans.append((m.start(), m.end()))
    out: list[str] = []
    for start, end in sorted(spans):
        figure = " ".join(text[start:end].split()).strip()
        if figure and figure not in out:
            out.append(figure)
    return out


# Where a FIGURE match can start: at most four characters before a digit ("US$ 5", "~38%"),
# or where one of the words of its other branches begins ("three times", "a few weeks",
# "doubled"). Trying the pattern only there finds a match exactly when a search would,
# at a fraction of the cost (the search tries every branch at every character).
_DIGIT = re.compile(r"\d")
_FIGURE_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty", "fifty",
                 "a hundred", "hundred", "a few", "several", "doubled", "tripled", "quadrupled", "halved")  # fmt: skip


def _has_figure(sentence: str, words: tuple[str, ...] = _FIGURE_WORDS) -> bool:
    """``bool(FIGURE.search(sentence) or _FROM_TO.search(sentence))``, faster. ``words``: the
    _FIGURE_WORDS that can occur in the sentence (those in its story's lower-cased text)."""
    if ASCII_FOLDS.search(sentence):  # İ ı ſ K: the lower-case positions below would not be exact
        return bool(FIGURE.search(sentence) or _FROM_TO.search(sentence))
    digits = [m.start() for m in _DIGIT.finditer(sentence)]
    starts = {at for d in digits for at in range(max(0, d - 4), d + 1)}
    low = sentence.lower()  # same length and positions: only İ lower-cases to two characters
    for word in words:
        at = low.find(word)
        while at >= 0:
            starts.add(at)
            at = low.find(word, at + 1)
    if any(FIGURE.match(sentence, at) for at in sorted(starts)):
        return True
    return bool(digits) and _FROM_TO.search(sentence) is not None  # _FROM_TO needs a digit too


def _is_outcome(sentence: str, words: tuple[str, ...] = _FIGURE_WORDS) -> bool:
    if not _has_figure(sentence, words):
        return False
    if not RESULT_CUES.search(sentence):
        return False
    if _NOT_RESULT.search(sentence) and not re.search(r"\b(?:reduced|cut|improved|saved|increased)\b", sentence):
        return False
    # a year or a model version is not a result: need a figure that is not just "2023"
    return True


def _clause(sentence: str, max_chars: int) -> str:
    if len(sentence) <= max_chars:
        return sentence
    parts = [p.strip(" ,;") for p in _CLAUSE_SPLIT.split(sentence) if p and p.strip(" ,;")]
    keep = [p for p in parts if FIGURE.search(p) or _FROM_TO.search(p)]
    if not keep:
        return sentence[:max_chars].rsplit(" ", 1)[0] + "…"
    clause = "; ".join(keep)
    if len(clause) > max_chars:
        clause = keep[0]
    if len(clause.split()) < 4:
        return sentence[:max_chars].rsplit(" ", 1)[0] + "…" if len(sentence) > max_chars else sentence
    return clause if len(clause) <= max_chars else clause[:max_chars].rsplit(" ", 1)[0] + "…"


def find_outcomes(text: str, *, limit: int = 12, max_chars: int = 240) -> list[str]:
    """Sentences or clauses that report a quantified result, results sections first then
    in reading order; at most ``limit``."""
    scored: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    triples = all_sentences(nfc(text), with_kind=True)
    lowered = "\n".join(sentence.lower() for _, _, sentence in triples)
    words = tuple(w for w in _FIGURE_WORDS if w in lowered)  # the only ones any sentence can have
    for order, (kind, heading, sentence) in enumerate(triples):
        if kind == "quote" or len(sentence) < 12:
            continue
        if not _is_outcome(sentence, words):
            continue
        in_results = bool(_RESULT_HEADINGS.search(heading))
        if _BEFORE_HEADINGS.search(heading) and not in_results and not _IMPROVEMENT.search(sentence):
            continue
        clause = _clause(sentence.strip(), max_chars).strip()
        key = clause.lower()
        if key in seen:
            continue
        seen.add(key)
        scored.append((0 if in_results else 1, order, clause))
    scored.sort()
    chosen = scored[:limit]
    chosen.sort(key=lambda t: t[1])
    return [c for _, _, c in chosen]
