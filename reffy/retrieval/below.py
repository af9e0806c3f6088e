"""Look-ups of stories the gold build left below the score threshold (``gold_below``, carried into
the index by ``reffy index`` as ``below_threshold.json``).

Search never ranks them: the threshold is what keeps the library curated. But an analyst who
types a customer's name wants to know the story exists, and why it does not show: so a query
that names the customer of a below-threshold story returns it apart, with its score and the
threshold it missed (see :meth:`reffy.service.ReffyService.search`)."""

from __future__ import annotations

import re
from typing import Any

from reffy.retrieval.text import normalise

_MIN_NAME = 3  # characters: shorter names ("AB") would match too many queries


def _words(text: str) -> str:
    """Lower-case words without accents, as search folds them: "Vía Serrana" is found by "via serrana"."""
    return " ".join(re.findall(r"\w+", normalise(text or "")))


def named_in(query: str, customer: str | None) -> bool:
    """Whether ``query`` names ``customer``: its words appear in the query in order, or the
    query is the start of the name (what a person types while looking it up)."""
    name, asked = _words(customer or ""), _words(query)
    if len(name) < _MIN_NAME or not asked:
        return False
    return f" {name} " in f" {asked} " or (len(asked) >= 4 and name.startswith(asked))


def named(rows: list[dict[str, Any]], query: str, limit: int = 5) -> list[dict[str, Any]]:
    """The rows whose customer ``query`` names, best score first."""
    found = [r for r in rows if named_in(query, r["customer"])]
    return sorted(found, key=lambda r: (-r["score"], r["title"] or ""))[:limit]
