"""Public or internal: who may see a story.

Precedence, most specific first:

1. explicit source metadata: a ``shareability`` / ``visibility`` / ``audience`` /
   ``confidential`` field (front matter, spreadsheet column, document properties,
   ``--meta`` at ingest), including ``shareability=...`` inside document keywords;
2. folder convention: a path segment named ``internal``, ``confidential`` or ``private``
   (internal) or ``public`` / ``published`` (public);
3. the source's nature: pages, feeds and videos fetched from the web are public;
4. everything else (internal documents, unknown) is internal.

A scorer (LLM or offline) may only *downgrade* to internal (the text says "internal
only", "do not share"), never promote a story to public: a leak is worse than a miss.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

PUBLIC_WORDS = {"public", "external", "published", "approved", "approved-external", "shareable", "yes"}
INTERNAL_WORDS = {"internal", "internal-only", "internal only", "confidential", "private", "restricted", "nda",
                  "not-approved", "draft", "no"}  # fmt: skip
META_KEYS = ("shareability", "visibility", "audience", "sharing", "access", "classification", "content_status")
PUBLIC_SOURCE_TYPES = {"web", "feed", "youtube"}
INTERNAL_FOLDERS = {"internal", "confidential", "private", "internal-only"}
PUBLIC_FOLDERS = {"public", "published"}
_TEXT_INTERNAL = re.compile(
    r"\b(internal[ -]only|for internal use|do not (?:share|distribute|forward)|not (?:approved|cleared) for "
    r"(?:external|public)|confidential(?:ity)?: (?:internal|restricted)|strictly confidential)\b",
    re.IGNORECASE,
)


def _word(value: Any) -> str | None:
    if isinstance(value, bool):  # `confidential: true`
        return None
    text = str(value).strip().lower().replace("_", "-")
    if text in PUBLIC_WORDS:
        return "public"
    if text in INTERNAL_WORDS:
        return "internal"
    return None


def from_metadata(meta: dict[str, Any]) -> str | None:
    lowered = {str(k).lower(): v for k, v in meta.items()}
    for key in META_KEYS:
        if key in lowered and (verdict := _word(lowered[key])):
            return verdict
    for key in ("confidential", "internal"):
        if isinstance(lowered.get(key), bool):
            return "internal" if lowered[key] else "public"
    keywords = lowered.get("keywords") or []
    if isinstance(keywords, str):
        keywords = re.split(r"[;,]", keywords)
    for kw in keywords:
        name, _, value = str(kw).partition("=")
        if name.strip().lower() in META_KEYS and (verdict := _word(value)):
            return verdict
    return None


def from_path(origin: str) -> str | None:
    if "://" in origin:
        return None
    parts = [p.lower() for p in PurePath(origin).parts[:-1]]
    for part in reversed(parts):  # the nearest folder decides
        if part in INTERNAL_FOLDERS:
            return "internal"
        if part in PUBLIC_FOLDERS:
            return "public"
    return None


def text_says_internal(text: str) -> bool:
    return bool(_TEXT_INTERNAL.search(text[:5000]))


def decide(meta: dict[str, Any], origin: str, source_type: str, text: str,
           scorer_verdict: str | None = None) -> tuple[str, str]:  # fmt: skip
    """(public|internal, why). Explicit metadata > folder > source type > internal."""
    if verdict := from_metadata(meta):
        return verdict, "source metadata"
    if verdict := from_path(origin):
        return verdict, "folder convention"
    if scorer_verdict == "internal" or text_says_internal(text):
        return "internal", "the text marks it internal"
    if source_type in PUBLIC_SOURCE_TYPES:
        return "public", f"published {source_type} source"
    return "internal", "no explicit shareability: internal by default"
