"""Main-text extraction from HTML, shared by ``.html`` files, web pages and feed entries.

trafilatura strips navigation, footers and boilerplate and returns the article with its
metadata; we only map its result onto :class:`Extracted` and refuse pages without text.
"""

from __future__ import annotations

from typing import Any

from ingest.sources.base import Extracted, ExtractionError, first_line_title


def extract_html(html: str, url: str | None = None, *, fallback_title: str = "Untitled") -> Extracted:
    """Article text and metadata of an HTML document.

    Raises ExtractionError('empty') when the page has no main text (a login wall,
    an empty template, a JavaScript-only page).
    """
    import trafilatura

    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        favor_recall=True,
        include_comments=False,
        include_tables=True,
    )
    text = (doc.text or "").strip() if doc is not None else ""
    if not text:
        raise ExtractionError(
            "empty",
            "no main text found in the HTML (empty page, login wall or JavaScript-only page)",
        )
    meta: dict[str, Any] = {}
    for key in ("author", "date", "sitename", "description", "hostname"):
        value = getattr(doc, key, None)
        if value:
            meta[key] = value
    categories = getattr(doc, "categories", None) or []
    tags = getattr(doc, "tags", None) or []
    if categories or tags:
        meta["tags"] = [*categories, *tags]
    title = (doc.title or "").strip() or first_line_title(text, fallback_title)
    return Extracted(title=title, text=text, meta=meta, source_type="html")
