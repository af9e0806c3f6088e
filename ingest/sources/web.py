"""Web pages by URL: fetch a few at a time, keep the article text, hand feeds to the feed reader.

Pages are fetched concurrently (bounded by ``http_concurrency``) but items are yielded in
input order, so runs are deterministic. A URL that answers with RSS/Atom is read as a feed,
which is what makes ``reffy ingest https://blog.example/feed`` work without a flag.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from ingest.sources.base import ExtractionError, ReadContext, describe_failure
from ingest.sources.feeds import looks_like_feed, read_fetched_feed
from ingest.sources.html import story_page
from ingest.sources.http import Fetcher, FetchError, FetchResult, NotFound
from reffy.models import Gone, Problem, RawRecord, SourceItem, Unchanged

if TYPE_CHECKING:
    from reffy.config import Settings

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_SNIFFABLE = frozenset({"", "text/plain", "application/octet-stream"})


class WebSource:
    """A list of page URLs. Each URL is its own origin; ``scope`` is None (a list of pages
    cannot tell "removed" from "not listed this time"), except for a single URL that turned
    out to be a feed and was read completely: then the feed is the scope, as for FeedSource.
    """

    name = "web"

    def __init__(self, urls: Iterable[str], fetcher: Fetcher | None = None) -> None:
        self.urls = list(dict.fromkeys(u.strip() for u in urls if u.strip()))
        self._fetcher = fetcher
        self._feed_scope: str | None = None

    @property
    def scope(self) -> str | None:
        return self._feed_scope

    def read(self, ctx: ReadContext) -> Iterator[SourceItem]:
        fetcher = self._fetcher or Fetcher(ctx.settings)
        validators = {u: ctx.fingerprints[u] for u in self.urls if u in ctx.fingerprints}
        try:
            for url, outcome in fetcher.fetch_many(self.urls, validators=validators):
                try:  # each page in its own error boundary
                    yield from self._items(url, outcome, ctx, fetcher)
                except Exception as exc:
                    reason, detail = describe_failure(exc, "the page")
                    yield Problem(url, reason, f"{url}: {detail}")
        finally:
            if fetcher is not self._fetcher:
                fetcher.close()

    def _items(
        self, url: str, outcome: FetchResult | FetchError, ctx: ReadContext, fetcher: Fetcher
    ) -> Iterator[SourceItem]:
        if isinstance(outcome, FetchError):
            yield Problem(url, outcome.reason, outcome.detail)
            if isinstance(outcome, NotFound):
                yield Gone(url, outcome.detail)
            return
        if outcome.not_modified:
            yield Unchanged(url)
            return
        if looks_like_feed(outcome):
            complete = yield from read_fetched_feed(url, outcome, settings=ctx.settings, fetcher=fetcher)
            if complete and len(self.urls) == 1:
                self._feed_scope = url
            return
        kind = page_kind(outcome)
        if kind != "html":
            yield _unsupported(url, outcome, kind)
            return
        yield page_record(url, outcome, ctx.settings)


def page_kind(result: FetchResult) -> str:
    """``html``, ``pdf``, or the content type of anything else."""
    head = result.content[:1024].lstrip().lower()
    if result.content_type == "application/pdf" or head.startswith(b"%pdf-"):
        return "pdf"
    if result.content_type in HTML_TYPES:
        return "html"
    if result.content_type in _SNIFFABLE and (head.startswith(b"<!doctype html") or b"<html" in head):
        return "html"
    return result.content_type or "unknown content"


def page_record(url: str, result: FetchResult, settings: Settings) -> RawRecord | Problem:
    """The article of a fetched HTML page, or a Problem (``empty``, ``encoding``,
    ``login_wall``, ``too_short``). ``fetched_from`` (the address after redirects) is what
    decides whether the page may be public (``public_domains``)."""
    try:
        extracted = story_page(result.text(), result.final_url, settings)
    except ExtractionError as exc:
        hint = "; if it needs JavaScript or a login, save it from your browser and ingest the HTML file"
        return Problem(url, exc.reason, f"{url}: {exc.detail}" + (hint if exc.reason == "empty" else ""))
    return RawRecord(
        origin=url,
        source_uri=result.final_url,
        source_type="web",
        title=extracted.title,
        text=extracted.text,
        meta={**extracted.meta, "url": result.final_url, "fetched_from": result.final_url},
        origin_fingerprint=result.validator,
    )


def _unsupported(url: str, result: FetchResult, kind: str) -> Problem:
    if kind == "pdf":
        return Problem(
            url,
            "unsupported",
            f"{url} is a PDF, not a web page; download it and ingest the file (reffy ingest file.pdf)",
            "warning",
        )
    return Problem(
        url,
        "unsupported",
        f"{url} returned {kind}, not an HTML page or feed; only pages and feeds can be ingested by URL",
    )


__all__ = ["WebSource", "page_kind", "page_record"]
