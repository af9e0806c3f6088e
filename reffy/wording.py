"""How Reffy words counts and messages for people: plural forms and sentence endings.

Bottom layer (imports nothing of Reffy's): the CLI, the app, the service and the pipeline
all word their summaries and error messages through these two helpers, so "1 stories" and
"Connection error.." cannot come back one message at a time.
"""

from __future__ import annotations

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
