"""Citation and quote verification for written answers (pure functions plus a streaming buffer).

An answer is only useful if every claim traces to a real story. Before the user sees a
sentence: a citation marker ``[n]`` must name a story that was retrieved for this answer
(others are removed), and every quoted passage must exist in a story it could come from
(the stories cited in the same sentence, else any story in the context), by the same check
the scorer's evidence goes through (typography-tolerant, figures must match); quotes that
do not are replaced by a visible marker. Streaming releases text sentence by sentence, each
one verified, so nothing unverified ever reaches the screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ingest.evidence import evidence_found  # the scorer's evidence check: one definition of "found in the story"

CITATION = re.compile(r"\[(\s*\d+\s*(?:[,;]\s*\d+\s*)*)\]")
# “…”, "…", „…“ and «…» spans long enough to be a quotation rather than a term in quotes.
QUOTE = re.compile(r"“([^“”]{12,}?)”|\"([^\"\n]{12,}?)\"|„([^“”„]{12,}?)[“”]|«\s?([^«»]{12,}?)\s?»")
MIN_QUOTE_WORDS = 4
REMOVED_QUOTE = "[quote removed: not found in the cited story]"
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”»)\]]*(?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])*\s+|\n+")


@dataclass(slots=True)
class Verification:
    text: str
    cited: list[int] = field(default_factory=list)  # valid citation numbers, in order of first use
    removed: list[str] = field(default_factory=list)  # human-readable notes of what was removed


def verify_text(text: str, texts: Mapping[int, str], *, cited_so_far: list[int] | None = None) -> Verification:
    """Verify one or more complete sentences against the context stories' texts (by number)."""
    out = Verification(text="", cited=list(cited_so_far or []))
    pieces = []
    for sentence in split_sentences(text):
        numbers = [int(n) for m in CITATION.finditer(sentence) for n in re.split(r"[,;]", m.group(1))]
        valid = [n for n in numbers if n in texts]
        for n in numbers:
            if n not in texts:
                out.removed.append(f"citation [{n}] named no retrieved story")
        if len(valid) < len(numbers):
            sentence = CITATION.sub(lambda m: _keep_valid(m, texts), sentence)
            sentence = re.sub(r"[ \t]+([.,;:!?])", r"\1", sentence)  # no gap where a marker was
        sources = [texts[n] for n in valid] or list(texts.values())

        def check(m: re.Match[str], sources: list[str] = sources) -> str:
            quote = next(g for g in m.groups() if g is not None)
            if len(quote.split()) < MIN_QUOTE_WORDS or any(evidence_found(quote, s) for s in sources):
                return m.group(0)
            out.removed.append(f"quote not found in the cited story: “{quote[:80]}”")
            return REMOVED_QUOTE

        sentence = QUOTE.sub(check, sentence)
        for n in valid:
            if n not in out.cited:
                out.cited.append(n)
        pieces.append(sentence)
    out.text = "".join(pieces)
    return out


def _keep_valid(m: re.Match[str], texts: Mapping[int, str]) -> str:
    kept = [n.strip() for n in re.split(r"[,;]", m.group(1)) if n.strip() and int(n) in texts]
    return f"[{', '.join(kept)}]" if kept else ""


def split_sentences(text: str) -> list[str]:
    """Sentences with their trailing whitespace (and any citation right after the full stop)."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append(text[start : m.end()])
        start = m.end()
    if start < len(text):
        out.append(text[start:])
    return out


def _open_quote(text: str) -> bool:
    return text.count("“") > text.count("”") or text.count('"') % 2 == 1 or text.count("«") > text.count("»") \
        or text.count("„") > text.count("“")  # fmt: skip


class StreamVerifier:
    """Buffers streamed deltas and releases whole, verified sentences."""

    def __init__(self, texts: Mapping[int, str], *, on_release: Callable[[str], None] | None = None) -> None:
        self.texts = texts
        self.buffer = ""
        self.result = Verification(text="")
        self.on_release = on_release

    def feed(self, delta: str) -> str:
        """Add a delta; return the newly releasable verified text (may be empty)."""
        self.buffer += delta
        cut = 0
        for m in _SENTENCE_END.finditer(self.buffer):
            if not _open_quote(self.buffer[: m.end()]) and not re.search(r"\[\s*[\d,; ]*$", self.buffer[: m.end()]):
                cut = m.end()
        if not cut:
            return ""
        ready, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return self._release(ready)

    def flush(self) -> str:
        ready, self.buffer = self.buffer, ""
        return self._release(ready) if ready else ""

    def _release(self, ready: str) -> str:
        checked = verify_text(ready, self.texts, cited_so_far=self.result.cited)
        self.result.text += checked.text
        self.result.cited = checked.cited
        self.result.removed.extend(checked.removed)
        return checked.text
