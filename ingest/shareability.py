"""Public or internal: who may see a story.

Precedence, most specific first:

1. explicit source metadata: a ``shareability`` / ``visibility`` / ``audience`` /
   ``confidential`` field (front matter, spreadsheet column, document properties,
   ``--meta`` at ingest), including ``shareability=...`` inside document keywords;
2. folder convention: a path segment named ``internal``, ``confidential`` or ``private``
   (internal) or ``public`` / ``published`` (public);
3. the source's nature: a web page or feed entry is public only when the host its text
   was fetched from (``meta['fetched_from']``, the address *after* redirects) is one of
   ``public_domains`` or a subdomain of one; YouTube videos are public (they are
   published by construction: private videos cannot be fetched);
4. everything else (internal documents, pages from unlisted hosts, unknown) is internal.

A scorer (LLM or offline) may only *downgrade* to internal (the text says "internal
only", "do not share"), never promote a story to public: a leak is worse than a miss.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

PUBLIC_WORDS = {"public", "external", "published", "approved", "approved-external", "shareable", "yes"}
INTERNAL_WORDS = {
    "internal",
    "internal-only",
    "internal only",
    "confidential",
    "private",
    "restricted",
    "nda",
    "not-approved",
    "draft",
    "no",
}
META_KEYS = ("shareability", "visibility", "audience", "sharing", "access", "classification", "content_status")
PUBLIC_SOURCE_TYPES = {"youtube"}  # public by nature; web pages and feeds only on public_domains
WEB_SOURCE_TYPES = {"web", "feed"}
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


def _host(url: str | None) -> str:
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower() if url else ""
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return ""


def on_public_domain(url: str | None, public_domains: Iterable[str]) -> str | None:
    """The listed domain ``url``'s host is (or is a subdomain of), else None."""
    host = _host(url)
    if not host:
        return None
    for domain in public_domains:
        domain = domain.strip().strip(".").lower()
        if domain and (host == domain or host.endswith("." + domain)):
            return domain
    return None


def fetched_from(meta: dict[str, Any], source_type: str, source_uri: str | None) -> str | None:
    """Where a web record's text was fetched from, after redirects. Web pages ingested
    before ``fetched_from`` was recorded have it as their source URI."""
    value = meta.get("fetched_from")
    if isinstance(value, str) and value:
        return value
    return source_uri if source_type == "web" else None


def decide(
    meta: dict[str, Any],
    origin: str,
    source_type: str,
    text: str,
    scorer_verdict: str | None = None,
    *,
    public_domains: Iterable[str] = (),
    source_uri: str | None = None,
) -> tuple[str, str]:
    """(public|internal, why). Explicit metadata > folder > source > internal."""
    if verdict := from_metadata(meta):
        return verdict, "source metadata"
    if verdict := from_path(origin):
        return verdict, "folder convention"
    if scorer_verdict == "internal" or text_says_internal(text):
        return "internal", "the text marks it internal"
    if source_type in PUBLIC_SOURCE_TYPES:
        return "public", f"published {source_type} source"
    if source_type in WEB_SOURCE_TYPES:
        url = fetched_from(meta, source_type, source_uri)
        if domain := on_public_domain(url, public_domains):
            return "public", f"published {source_type} source on {domain} (a public domain)"
        host = _host(url) or "an unknown host"
        return "internal", f"{source_type} source from {host}, not a public domain (REFFY_PUBLIC_DOMAINS)"
    return "internal", "no explicit shareability: internal by default"
