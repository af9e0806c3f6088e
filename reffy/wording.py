"""How Reffy words counts and messages for people: plural forms, sentence endings, and
never saying the same sentence twice.

Bottom layer (imports nothing of Reffy's): the CLI, the app, the service and the pipeline
all word their summaries and error messages through these helpers, so "1 stories" and
"Connection error.." cannot come back one message at a time. :func:`Said` tells a sentence
already said (in a summary's or a brief's bullets) from a new one.
"""

from __future__ import annotations

import re
import unicodedata

# Nouns whose plural is not the noun plus "s" (or "y" -> "ies").
_IRREGULAR = {"criterion": "criteria", "person": "people"}
_ENDS_SENTENCE = (".", "!", "?", "…", ":", ";")
_CLOSERS = "\"')]”’»"


def plural_of(word: str) -> str:
    """``story`` -> ``stories``, ``record`` -> ``records``, ``match`` -> ``matches``."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def plural(count: int | float, word: str, many: str | None = None, *, number: str | None = None) -> str:
    """A count with its noun in the right form: ``plural(1, "story")`` -> ``1 story``,
    ``plural(3, "story")`` -> ``3 stories``, ``plural(0, "error")`` -> ``0 errors``. ``many`` gives
    an irregular plural; ``number`` the count as already formatted (``"1,204"``)."""
    shown = f"{count:,}" if number is None and isinstance(count, int) else (number or f"{count}")
    return f"{shown} {word if count == 1 else (many or plural_of(word))}"


def sentence(text: object, end: str = ".") -> str:
    """``text`` ended as a sentence: a period added unless it already ends with punctuation,
    so a detail from elsewhere ("Connection error.") joined into a message never doubles it."""
    out = str(text).rstrip()
    if not out:
        return out
    return out if out.rstrip(_CLOSERS).endswith(_ENDS_SENTENCE) else out + end


_WORDS = re.compile(r"[^\W_]+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")
_HEADING_GLUE = re.compile(
    r"^(?:the )?(?:challenge|problem|solution|results?|outcomes?|background|approach)\s+", re.IGNORECASE
)


def sentence_key(text: str) -> str:
    """A sentence as compared for repeats: its words (letters and digits), lower case, NFKC,
    without a section heading glued to its start ("The challenge By 2022 ...")."""
    words = " ".join(_WORDS.findall(unicodedata.normalize("NFKC", text).casefold()))
    return _HEADING_GLUE.sub("", words)


class Said:
    """The sentences said so far. ``new(text)`` is False when any sentence of ``text`` repeats
    one already said (the same words, or one wholly inside the other, for sentences of five
    words or more); ``say(text)`` records its sentences."""

    MIN_WORDS = 5

    def __init__(self) -> None:
        self.keys: list[str] = []

    @staticmethod
    def _keys(text: str) -> list[str]:
        return [k for k in (sentence_key(part) for part in _SENTENCE_BREAK.split(str(text))) if k]

    def _repeats(self, key: str) -> bool:
        for said in self.keys:
            if key == said:
                return True
            short, long = (key, said) if len(key) <= len(said) else (said, key)
            if len(short.split()) >= self.MIN_WORDS and f" {short} " in f" {long} ":
                return True
        return False

    def new(self, text: str) -> bool:
        return not any(self._repeats(k) for k in self._keys(text))

    def say(self, text: str) -> None:
        self.keys.extend(self._keys(text))
