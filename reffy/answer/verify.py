"""Citation and quote verification for written answers (pure functions plus a streaming buffer).

An answer is only useful if every claim traces to a real story. Before the user sees a
sentence: a citation marker ``[n]`` must name a story that was retrieved for this answer
(others are removed), and every quoted passage must exist in a story it could come from
(the stories cited in the same sentence, else any story in the context), by the same check
the scorer's evidence goes through (typography-tolerant, figures must match); quotes that
do not are replaced by a visible marker; and a sentence that names a story of the library
that was *not* retrieved for this answer (its customer or its title: :class:`StoryNames`) is
removed whole, since nothing in the context backs it, and for the external audience the
story may be internal. Names the context itself mentions (a partner named in a retrieved
story) are not foreign. Streaming releases text sentence by sentence, each one verified, so
nothing unverified ever reaches the screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from reffy.domain.evidence import evidence_found  # the scorer's evidence check: one definition of "found in the story"
from reffy.domain.story import StoryCard

CITATION = re.compile(r"\[(\s*\d+\s*(?:[,;]\s*\d+\s*)*)\]")
# “…”, "…", „…“ and «…» spans long enough to be a quotation rather than a term in quotes.
QUOTE = re.compile(r"“([^“”]{12,}?)”|\"([^\"\n]{12,}?)\"|„([^“”„]{12,}?)[“”]|«\s?([^«»]{12,}?)\s?»")
MIN_QUOTE_WORDS = 4
REMOVED_QUOTE = "[quote removed: not found in the cited story]"
REMOVED_NAME = "a sentence was removed: it named a story that was not retrieved for this answer"
_WORD = re.compile(r"\w+", re.UNICODE)
MIN_NAME_CHARS = 4  # a one-word name shorter than this ("AB") would match too much
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”»)\]]*(?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])*\s+|\n+")


@dataclass(slots=True)
class Verification:
    text: str
    cited: list[int] = field(default_factory=list)  # valid citation numbers, in order of first use
    removed: list[str] = field(default_factory=list)  # human-readable notes of what was removed


# A name: its words casefolded, and for a one-word name the exact spelling it must have ("Ramp",
# not "ramp up"; a one-word customer name is a proper noun, so its capital is what marks it).
_Name = tuple[tuple[str, ...], str | None]


class StoryNames:
    """The customer names and titles of every story in a library, keyed by their first two
    words, so a text is searched for all of them in one pass (time linear in its length,
    whatever the size of the library). Built once per loaded index (the service caches it).

    Only names specific enough to mean one story count: multi-word customer names, one-word
    ones written with a capital (at least four letters, not a stopword), and titles of three
    words or more (a title "Case study" names nothing)."""

    def __init__(self, docs: Iterable[StoryCard]) -> None:
        from reffy.retrieval.text import STOPWORDS

        self.stories: dict[_Name, set[str]] = {}
        for doc in docs:
            for value, least in ((doc.customer, 1), (doc.title, 3)):
                raw = _WORD.findall(str(value or ""))
                words = tuple(w.casefold() for w in raw)
                if len(words) < least:
                    continue
                exact = None
                if len(words) == 1:
                    if len(words[0]) < MIN_NAME_CHARS or words[0] in STOPWORDS or raw[0] == raw[0].lower():
                        continue
                    exact = raw[0]
                self.stories.setdefault((words, exact), set()).add(doc.story_id)
        self._by_key: dict[tuple[str, ...], list[_Name]] = {}
        for name in self.stories:
            self._by_key.setdefault(name[0][:2], []).append(name)

    def found_in(self, text: str) -> set[_Name]:
        """Every name that occurs in ``text``."""
        raw = _WORD.findall(text)
        folded = [w.casefold() for w in raw]
        found = set()
        for i, word in enumerate(folded):
            keys = [(word,)] + ([(word, folded[i + 1])] if i + 1 < len(folded) else [])
            for key in keys:
                for words, exact in self._by_key.get(key, ()):
                    if tuple(folded[i : i + len(words)]) == words and (exact is None or raw[i] == exact):
                        found.add((words, exact))
        return found

    def outside(self, context_ids: Collection[str], context_texts: Iterable[str]) -> OutsideNames:
        """The names a sentence may not use: those of stories outside the context, unless a
        context story also carries the name or a context text mentions it."""
        grounded: set[_Name] = set()
        for text in context_texts:
            grounded |= self.found_in(text)
        return OutsideNames(self, set(context_ids), grounded)


@dataclass(slots=True)
class OutsideNames:
    """What one answer may not name: the library's story names less those its context backs."""

    names: StoryNames
    context_ids: set[str]
    grounded: set[_Name]

    def named_in(self, sentence: str) -> bool:
        return any(
            name not in self.grounded and not self.names.stories[name] & self.context_ids
            for name in self.names.found_in(sentence)
        )


def verify_text(
    text: str, texts: Mapping[int, str], *, cited_so_far: list[int] | None = None, outside: OutsideNames | None = None
) -> Verification:
    """Verify one or more complete sentences against the context stories' texts (by number).
    ``outside``: names of stories not in the context; a sentence naming one is removed."""
    out = Verification(text="", cited=list(cited_so_far or []))
    pieces = []
    for sentence in split_sentences(text):
        if outside is not None and outside.named_in(sentence):
            out.removed.append(REMOVED_NAME)  # the name itself is not repeated: it may be an internal story's
            pieces.append("\n" * (len(sentence) - len(sentence.rstrip("\n"))))  # paragraphs stay apart
            continue
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
    return (
        text.count("“") > text.count("”")
        or text.count('"') % 2 == 1
        or text.count("«") > text.count("»")
        or text.count("„") > text.count("“")
    )


class StreamVerifier:
    """Buffers streamed deltas and releases whole, verified sentences."""

    def __init__(
        self,
        texts: Mapping[int, str],
        *,
        on_release: Callable[[str], None] | None = None,
        outside: OutsideNames | None = None,
    ) -> None:
        self.texts = texts
        self.outside = outside
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
        checked = verify_text(ready, self.texts, cited_so_far=self.result.cited, outside=self.outside)
        self.result.text += checked.text
        self.result.cited = checked.cited
        self.result.removed.extend(checked.removed)
        return checked.text
