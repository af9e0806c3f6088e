"""Main-text extraction from HTML, shared by ``.html`` files, web pages and feed entries.

trafilatura strips navigation, footers and boilerplate and returns the article with its
metadata; we only map its result onto :class:`Extracted` and refuse pages without text.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ingest.sources.base import Extracted, ExtractionError, first_line_title

if TYPE_CHECKING:
    from reffy.config import Settings

LOGIN_WALL_MAX_CHARS = 1500  # a sign-in page with more main text than this is an article about signing in
_PASSWORD_INPUT = re.compile(r"<input\b[^>]*\btype\s*=\s*[\"']?password\b", re.IGNORECASE)
_SIGN_IN = re.compile(
    r"\b(sign[\s-]?in|log[\s-]?in|login|sign[\s-]?on|authenticat\w*|anmelden|connexion|iniciar sesi[oó]n|accedi)\b",
    re.IGNORECASE,
)
_HEADINGS = re.compile(r"<(title|h1|h2)\b[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


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
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if doc is None or not text:
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
    title = (getattr(doc, "title", None) or "").strip() or first_line_title(text, fallback_title)
    return Extracted(title=title, text=text, meta=meta, source_type="html")


def login_wall(html: str, text: str) -> str | None:
    """Why a page is a sign-in form rather than a story (None when it is not): a password
    field, or a title or top heading saying "Sign in"/"Log in", with little main text."""
    if len(text) > LOGIN_WALL_MAX_CHARS:
        return None
    head = html[:200_000]
    if _PASSWORD_INPUT.search(head):
        return "it has a password field"
    for _, heading in _HEADINGS.findall(head)[:6]:
        words = " ".join(_TAGS.sub(" ", heading).split())
        if _SIGN_IN.search(words) and len(words) <= 80:
            return f"its title or heading is {words[:60]!r}"
    return None


def story_page(html: str, url: str, settings: Settings) -> Extracted:
    """The story on a fetched page; raises ExtractionError ``login_wall`` for a sign-in form
    answered with HTTP 200, ``too_short`` below ``min_story_chars``, ``empty`` without text."""
    try:
        extracted = extract_html(html, url=url, fallback_title=url)
    except ExtractionError as exc:
        if exc.reason == "empty" and (why := login_wall(html, "")):
            raise ExtractionError("login_wall", _login_detail(why, 0)) from None
        raise
    text = extracted.text
    if why := login_wall(html, text):
        raise ExtractionError("login_wall", _login_detail(why, len(text)))
    if len(text) < settings.min_story_chars:
        raise ExtractionError(
            "too_short",
            f"the page's main text is only {len(text)} characters (minimum {settings.min_story_chars}, "
            "REFFY_MIN_STORY_CHARS): probably an index, error or consent page, not a story; if it is one, "
            "lower REFFY_MIN_STORY_CHARS",
        )
    return extracted


def _login_detail(why: str, chars: int) -> str:
    return (
        f"the page is a sign-in form, not a story ({why}; {chars} characters of text); it needs a login: "
        "save it from a logged-in browser and ingest the HTML file"
    )
