"""RSS/Atom feeds: each entry becomes a story, with full text even when the feed is a teaser.

Many blogs publish only a summary in their feed. An entry whose own text is shorter than
``feed_min_chars`` is therefore followed to its page (through the shared
:class:`~ingest.sources.http.Fetcher` and :func:`extract_html`); if that fails, the summary
is kept with a warning. feedparser only ever parses bytes we hand it: it never fetches.
"""

from __future__ import annotations

import calendar
import io
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import feedparser

from ingest.sources.base import Extracted, ExtractionError, FileInput, ReadContext, describe_failure, first_line_title
from ingest.sources.html import story_page
from ingest.sources.http import Fetcher, FetchError, FetchResult, NotFound, is_http_url
from reffy.models import Gone, Problem, RawRecord, SourceItem, Unchanged
from reffy.wording import plural

if TYPE_CHECKING:
    from reffy.config import Settings

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml"})
_BLOCK_TAGS = (
    "p",
    "div",
    "br",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "tr",
    "table",
    "ul",
    "ol",
)


@dataclass(slots=True)
class _Entry:
    rid: str | None  # None: the entry has no id, link or title (reported and skipped)
    title: str
    link: str | None
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    follow: bool = False


class FeedSource:
    """One feed, by URL or local path. ``scope`` is the feed origin unless a read was incomplete."""

    name = "feed"

    def __init__(self, url_or_path: str, fetcher: Fetcher | None = None) -> None:
        self.url_or_path = url_or_path
        self.is_url = is_http_url(url_or_path)
        self.origin = url_or_path if self.is_url else str(Path(url_or_path).expanduser().resolve())
        self._fetcher = fetcher
        self._complete = True

    @property
    def scope(self) -> str | None:
        return self.origin if self._complete else None

    def read(self, ctx: ReadContext) -> Iterator[SourceItem]:
        fetcher = self._fetcher or Fetcher(ctx.settings)
        try:
            self._complete = yield from self._read(ctx, fetcher)
        finally:
            if fetcher is not self._fetcher:
                fetcher.close()

    def _read(self, ctx: ReadContext, fetcher: Fetcher) -> Generator[SourceItem, None, bool]:
        origin = self.origin
        if not self.is_url:
            path = Path(origin)
            if not path.is_file():
                yield Problem(origin, "not_found", f"feed file {origin} does not exist; check the path")
                yield Gone(origin)
                return False
            try:
                data = path.read_bytes()
            except OSError as exc:
                yield Problem(origin, "fetch_failed", f"cannot read {origin} ({exc.strerror}); check its permissions")
                return False
            return (yield from read_feed(origin, data, settings=ctx.settings, fetcher=fetcher))
        try:
            result = fetcher.fetch(origin, validator=ctx.fingerprints.get(origin))
        except FetchError as exc:
            yield Problem(origin, exc.reason, exc.detail)
            if isinstance(exc, NotFound):
                yield Gone(origin, exc.detail)
            return False
        if result.not_modified:
            yield Unchanged(origin)
            return True
        return (yield from read_fetched_feed(origin, result, settings=ctx.settings, fetcher=fetcher))


def read_fetched_feed(
    origin: str, result: FetchResult, *, settings: Settings, fetcher: Fetcher | None
) -> Generator[SourceItem, None, bool]:
    """Items of a feed already fetched (also used by WebSource when a URL turns out to be a feed)."""
    content_type = result.content_type + (f"; charset={result.encoding}" if result.encoding else "")
    return (
        yield from read_feed(
            origin,
            result.content,
            settings=settings,
            fetcher=fetcher,
            content_type=content_type,
            base_url=result.final_url,
            fingerprint=result.validator,
        )
    )


def read_feed(
    origin: str,
    data: bytes,
    *,
    settings: Settings,
    fetcher: Fetcher | None,
    content_type: str = "",
    base_url: str | None = None,
    fingerprint: str | None = None,
) -> Generator[SourceItem, None, bool]:
    """Yield one RawRecord per entry; return True when every entry of the feed was read."""
    parsed = _parse(data, content_type)
    if not parsed.entries:  # never "complete": an empty answer must not mark every entry removed
        if parsed.bozo or not parsed.version:
            detail = (
                f"{origin} is not a readable RSS/Atom feed ({_bozo_text(parsed)}); check that it points "
                "at the feed itself"
            )
            yield Problem(origin, "parse_error", detail)
        else:
            yield Problem(
                origin, "empty", f"the feed {origin} has no entries; nothing was ingested or removed", "warning"
            )
        return False
    complete = True
    if _is_malformed(parsed):
        detail = f"{origin} is malformed ({_bozo_text(parsed)}); entries were read but some may be missing"
        yield Problem(origin, "parse_error", detail, "warning")
        complete = False
    entries: list[_Entry] = []
    for item in _entries(origin, parsed, settings, can_follow=fetcher is not None, base_url=base_url):
        if isinstance(item, Problem):
            yield item
        else:
            entries.append(item)
    # every followed link goes through the fetcher, so through its address guard
    pages = fetcher.fetch_many(e.link for e in entries if e.follow and e.link) if fetcher else iter(())
    for entry in entries:
        page = next(pages)[1] if entry.follow else None
        try:  # each entry in its own error boundary
            yield from _entry_items(origin, entry, page, fingerprint, settings, base_url)
        except Exception as exc:
            reason, detail = describe_failure(exc, f"entry {entry.title!r}")
            yield Problem(origin, reason, detail, source_record_id=entry.rid)
    return complete


def extract_feed_file(inp: FileInput) -> Iterable[Extracted]:
    """Stories of a ``.rss``/``.atom`` file on disk; text comes only from the file (no network)."""
    origin = str(inp.path)
    parsed = _parse(inp.data)
    if not parsed.entries:
        if parsed.bozo or not parsed.version:
            raise ExtractionError("parse_error", f"not a readable RSS/Atom feed ({_bozo_text(parsed)}); check the file")
        raise ExtractionError("empty", "the feed has no entries")
    warnings: list[tuple[str, str]] = []
    if _is_malformed(parsed):
        warnings.append(("parse_error", f"the feed is malformed ({_bozo_text(parsed)}); some entries may be missing"))
    out: list[Extracted] = []
    short = 0
    for item in _entries(origin, parsed, inp.settings, can_follow=False):
        if isinstance(item, Problem):
            warnings.append((item.reason, item.detail))
        elif not item.text:
            warnings.append(("empty", f"entry {item.title!r} has no text in the file; skipped"))
        else:
            short += len(item.text) < inp.settings.feed_min_chars
            out.append(Extracted(item.title, item.text, item.meta, item.rid, item.link, "feed"))
    if not out:
        raise ExtractionError(
            "empty", "no feed entry has any text; ingest the feed by URL so entries are followed to their pages"
        )
    if short:
        holds = "holds" if short == 1 else "hold"
        warnings.append(
            (
                "empty",
                f"{plural(short, 'entry')} {holds} only a short summary; ingest the feed by URL to "
                "fetch their full pages",
            )
        )
    out[0].warnings.extend(warnings)
    return out


def looks_like_feed(result: FetchResult) -> bool:
    """True for RSS/Atom by content type, or by a ``<rss``/``<feed``/``<rdf:RDF`` root element."""
    if result.content_type in FEED_TYPES:
        return True
    head = result.content[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    while head.startswith((b"<?", b"<!")):  # XML declaration, stylesheet PI, comment, doctype
        end = head.find(b"-->") + 3 if head.startswith(b"<!--") else head.find(b">") + 1
        if end <= 0:
            return False
        head = head[end:].lstrip()
    return head.startswith((b"<rss", b"<feed", b"<rdf:RDF"))


def _parse(data: bytes, content_type: str = "") -> Any:
    # No Content-Location on purpose: feedparser would also rewrite relative guids, and
    # record ids must not depend on where the feed happens to be served from.
    return feedparser.parse(io.BytesIO(data), response_headers={"content-type": content_type or "application/xml"})


def _is_malformed(parsed: Any) -> bool:
    return bool(parsed.bozo) and not isinstance(parsed.get("bozo_exception"), feedparser.ThingsNobodyCaresAboutButMe)


def _bozo_text(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    return str(getattr(exc, "getMessage", lambda: exc)()) if exc else "no RSS or Atom root element"


def _entries(
    origin: str, parsed: Any, settings: Settings, *, can_follow: bool, base_url: str | None = None
) -> Iterator[_Entry | Problem]:
    feed_title = parsed.feed.get("title")
    seen: set[str] = set()
    for n, raw in enumerate(parsed.entries, 1):
        try:
            entry = _entry(raw, feed_title, settings, can_follow=can_follow, base_url=base_url)
        except Exception as exc:
            reason, detail = describe_failure(exc, f"entry {n} of the feed")
            rid = raw.get("id") if isinstance(raw.get("id"), str) else None
            yield Problem(origin, reason, detail, source_record_id=rid)
            continue
        rid = entry.rid
        if rid is None or rid in seen:
            what = "has no id, link or title" if rid is None else f"repeats the id {rid}"
            yield Problem(
                origin, "parse_error", f"an entry of the feed {what}; it was skipped, fix the feed", "warning", rid
            )
            continue
        seen.add(rid)
        yield entry


def _entry(raw: Any, feed_title: str | None, settings: Settings, *, can_follow: bool, base_url: str | None) -> _Entry:
    text = _entry_text(raw)
    link: str | None = urljoin(base_url, raw["link"]) if base_url and raw.get("link") else raw.get("link") or None
    title = _fragment_text(raw.get("title", "")) or first_line_title(text, link or "Untitled feed entry")
    rid = raw.get("id") or link or (f"title:{title}" if raw.get("title") else None)
    follow = can_follow and link is not None and is_http_url(link) and len(text) < settings.feed_min_chars
    return _Entry(rid, title, link, text, _entry_meta(raw, feed_title, link), follow)


def _entry_meta(raw: Any, feed_title: str | None, link: str | None) -> dict[str, Any]:
    stamp = raw.get("published_parsed") or raw.get("updated_parsed")
    meta: dict[str, Any] = {
        "author": raw.get("author"),
        "published": datetime.fromtimestamp(calendar.timegm(stamp), UTC).isoformat() if stamp else None,
        "tags": [t.get("term") for t in raw.get("tags", []) if t.get("term")],
        "feed_title": feed_title,
        "link": link,
    }
    return {k: v for k, v in meta.items() if v}


def _entry_text(raw: Any) -> str:
    """The longest text among the entry's content blocks and its summary."""
    blocks = [*raw.get("content", []), raw.get("summary_detail") or {"value": raw.get("summary", "")}]
    texts = [
        b.get("value", "").strip() if b.get("type") == "text/plain" else _fragment_text(b.get("value", ""))
        for b in blocks
    ]
    return max(texts, key=len, default="")


def _fragment_text(markup: str) -> str:
    """Plain text of an HTML fragment, one line per block. Feed content has no boilerplate to strip."""
    if "<" not in markup:
        return " ".join(markup.split())
    from lxml import etree, html

    try:
        root = html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return " ".join(markup.split())
    for bad in root.xpath(".//script|.//style"):
        bad.drop_tree()
    for el in root.iter(*_BLOCK_TAGS):
        el.tail = "\n" + (el.tail or "")
        if el.tag == "li":
            el.text = "- " + (el.text or "")
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def _entry_items(
    origin: str,
    entry: _Entry,
    page: FetchResult | FetchError | None,
    fingerprint: str | None,
    settings: Settings,
    base_url: str | None,
) -> Iterator[SourceItem]:
    """The entry's record; ``meta['fetched_from']`` is where its text came from (the page
    after redirects, else the feed), which decides whether it may be public."""
    text, meta = entry.text, dict(entry.meta)
    if base_url:
        meta["fetched_from"] = base_url
    if page is not None:
        try:
            extracted = _page_text(page, settings)
        except ExtractionError as exc:
            if not text:
                detail = f"entry {entry.title!r} has no text in the feed and its page failed: {exc.detail}"
                yield Problem(origin, exc.reason, detail, source_record_id=entry.rid)
                return
            detail = (
                f"could not read the full story of {entry.title!r} ({exc.detail}); ingested the feed's summary only"
            )
            yield Problem(origin, exc.reason, detail, "warning", entry.rid)
        else:
            if len(extracted.text) > len(text):
                text = extracted.text
                final = page.final_url  # type: ignore[union-attr]
                meta = {**extracted.meta, **meta, "url": final, "fetched_from": final}
    if not text:
        detail = f"entry {entry.title!r} has no text and no link to follow; nothing to ingest"
        yield Problem(origin, "empty", detail, source_record_id=entry.rid)
        return
    yield RawRecord(
        origin=origin,
        source_uri=entry.link or origin,
        source_type="feed",
        title=entry.title,
        text=text,
        source_record_id=entry.rid,
        meta=meta,
        origin_fingerprint=fingerprint,
    )


def _page_text(page: FetchResult | FetchError, settings: Settings) -> Extracted:
    if isinstance(page, FetchError):
        raise page
    if page.content_type not in ("text/html", "application/xhtml+xml", ""):
        raise ExtractionError("unsupported", f"{page.final_url} is {page.content_type}, not an HTML page")
    return story_page(page.text(), page.final_url, settings)


__all__ = ["FeedSource", "extract_feed_file", "looks_like_feed", "read_feed", "read_fetched_feed"]
