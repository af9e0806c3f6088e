"""A website by its sitemap: every page the sitemap lists (filtered by path) is a story.

A sync reads robots.txt, then the sitemap: an index of sitemaps or a ``urlset``, plain or
gzipped, XML or the protocol's plain-text form (one URL per line). Each listed page on the same
site that robots.txt allows and the path filter keeps is then read the cheapest way it can be:

* its ``lastmod`` equals the one recorded when it last read cleanly: not fetched at all;
* otherwise a conditional GET with the validator it answered last time (``If-None-Match`` /
  ``If-Modified-Since``): a 304 transfers no body;
* otherwise fetched, and its article extracted as for any web page (trafilatura).

Every page is its own origin, as for a URL list, so a page also ingested by URL is one story.
A page that was listed before and no longer is (or answers 404/410) is yielded as
:class:`~reffy.models.Gone`: its story is marked removed. That happens only after a complete
listing: a sitemap that fails to load removes nothing. Pages robots.txt disallows are never
requested (one warning counts them).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from ingest.registry import ItemState
from ingest.sources.base import ExtractionError, ReadContext, describe_failure
from ingest.sources.http import Fetcher, FetchError, FetchResult, NotFound
from ingest.sources.site import Pace, PathFilter, Robots, fetch_paced, fetch_robots, same_site
from ingest.sources.web import page_kind, page_record
from reffy.models import Gone, Problem, RawRecord, SourceItem, Unchanged
from reffy.wording import plural

if TYPE_CHECKING:
    from reffy.config import Settings

MAX_SITEMAPS = 500  # sitemap files read per sync (an index of indexes of ...)
MAX_SITEMAP_MB = 60  # the protocol caps a sitemap at 50 MB uncompressed


class SitemapSource:
    """One sitemap (or sitemap index) URL. ``state`` and ``complete`` tell the registry what
    was listed once :meth:`read` is done."""

    name = "sitemap"
    scope: str | None = None  # removals are yielded as Gone items: pages are origins of their own

    def __init__(
        self,
        url: str,
        *,
        known: Mapping[str, ItemState] | None = None,
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        fetcher: Fetcher | None = None,
    ) -> None:
        self.url = url
        self.known = dict(known or {})
        self.keep = PathFilter(include, exclude)
        self._fetcher = fetcher
        self.state: dict[str, ItemState] = {}
        self.complete = False

    def read(self, ctx: ReadContext) -> Iterator[SourceItem]:
        fetcher = self._fetcher or Fetcher(ctx.settings)
        try:
            yield from self._read(ctx, fetcher)
        finally:
            if fetcher is not self._fetcher:
                fetcher.close()

    def _read(self, ctx: ReadContext, fetcher: Fetcher) -> Iterator[SourceItem]:
        settings = ctx.settings
        try:
            robots = fetch_robots(fetcher, self.url, settings.user_agent)
        except FetchError as exc:
            yield Problem(self.url, exc.reason, exc.detail)
            return
        listing, complete = yield from list_sitemap(fetcher, self.url, robots, settings)
        kept = {u: m for u, m in listing.items() if self.keep(u)}
        allowed = {u: m for u, m in kept.items() if robots.allowed(u)}
        if len(allowed) < len(kept):
            n = len(kept) - len(allowed)
            yield Problem(
                self.url,
                "disallowed",
                f"{plural(n, 'page')} listed in {self.url} {'is' if n == 1 else 'are'} disallowed by the site's "
                "robots.txt for our User-Agent (REFFY_USER_AGENT): not fetched",
                "warning",
            )
        if not allowed and complete:
            yield Problem(
                self.url,
                "empty",
                f"{self.url} lists no page to read"
                + (" under the path filter" if self.keep.include or self.keep.exclude else "")
                + "; nothing was ingested or removed",
                "warning",
            )
            complete = False  # an empty listing is more likely a broken sitemap than an empty site
        to_fetch: list[str] = []
        validators: dict[str, str] = {}
        for url, lastmod in allowed.items():
            known = self.known.get(url)
            if known is not None and known.ok and lastmod and known.lastmod == lastmod:
                self.state[url] = known
                yield Unchanged(url)
                continue
            validator = (known.validator if known is not None and known.ok else None) or ctx.fingerprints.get(url)
            if validator:
                validators[url] = validator
            to_fetch.append(url)
        pace = Pace.for_site(settings.crawl_delay_s, robots)
        for url, outcome in fetch_paced(fetcher, to_fetch, validators, pace):
            try:  # each page in its own error boundary
                yield from self._page(url, allowed[url], outcome, settings)
            except Exception as exc:
                reason, detail = describe_failure(exc, "the page")
                self.state[url] = ItemState(url)
                yield Problem(url, reason, f"{url}: {detail}")
        if complete:
            for origin in self.known:
                if origin not in allowed:
                    yield Gone(origin, f"no longer listed in {self.url}")
        self.complete = complete

    def _page(
        self, url: str, lastmod: str | None, outcome: FetchResult | FetchError, settings: Settings
    ) -> Iterator[SourceItem]:
        if isinstance(outcome, FetchError):
            yield Problem(url, outcome.reason, outcome.detail)
            if isinstance(outcome, NotFound):
                yield Gone(url, outcome.detail)
            else:
                self.state[url] = ItemState(url)  # still listed: read again next sync
            return
        if outcome.not_modified:
            known = self.known.get(url)
            self.state[url] = ItemState(url, lastmod, known.validator if known else None, ok=True)
            yield Unchanged(url)
            return
        kind = page_kind(outcome)
        if kind != "html":
            self.state[url] = ItemState(url)
            yield Problem(url, "unsupported", f"{url} listed in {self.url} returned {kind}, not an HTML page")
            return
        item = page_record(url, outcome, settings)
        self.state[url] = ItemState(url, lastmod, outcome.validator, ok=isinstance(item, RawRecord))
        yield item


def list_sitemap(
    fetcher: Fetcher, url: str, robots: Robots, settings: Settings
) -> Generator[SourceItem, None, tuple[dict[str, str | None], bool]]:
    """Page URL -> lastmod (None when not given) of a sitemap and every sitemap its index names,
    same-site URLs only; and whether every sitemap was read. Problems are yielded."""
    start = url
    queue = [url]
    seen: set[str] = set()
    pages: dict[str, str | None] = {}
    complete = True
    off_site = 0
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        if len(seen) >= MAX_SITEMAPS:
            yield Problem(start, "too_large", f"{start} names more than {MAX_SITEMAPS} sitemaps; the rest were skipped")
            complete = False
            break
        seen.add(current)
        try:
            result = fetcher.fetch(current)
            kind, entries = parse_sitemap(_unpacked(result.content, current))
        except (FetchError, ExtractionError) as exc:
            yield Problem(current, exc.reason, f"sitemap {current}: {exc.detail}; nothing was removed this sync")
            complete = False
            continue
        for loc, lastmod in entries:
            if not same_site(loc, start):
                off_site += 1
                continue
            if kind == "index":
                queue.append(loc)
            elif len(pages) < settings.sitemap_max_urls:
                pages.setdefault(loc, lastmod)
            else:
                yield Problem(
                    start,
                    "too_large",
                    f"{start} lists more than {settings.sitemap_max_urls:,} pages (REFFY_SITEMAP_MAX_URLS); "
                    "the rest were skipped and nothing was removed",
                    "warning",
                )
                return pages, False
    if off_site:
        yield Problem(
            start,
            "off_site",
            f"{plural(off_site, 'URL')} in {start} point to another site; sitemaps may only list their own "
            "site's pages, so they were skipped",
            "warning",
        )
    return pages, complete


def _unpacked(data: bytes, url: str) -> bytes:
    """The sitemap's bytes, gunzipped when gzipped (bounded: a gzip bomb is refused)."""
    if not data.startswith(b"\x1f\x8b"):
        return data
    limit = MAX_SITEMAP_MB * 1024 * 1024
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise ExtractionError("corrupt", f"the gzipped sitemap cannot be unpacked ({exc})") from None
    if len(out) > limit:
        raise ExtractionError("too_large", f"the gzipped sitemap unpacks to more than {MAX_SITEMAP_MB} MB; refused")
    return out


def parse_sitemap(data: bytes) -> tuple[str, list[tuple[str, str | None]]]:
    """(``index`` or ``urlset``, [(loc, lastmod)]) of a sitemap document; ExtractionError when it is none.
    XML with entities and network access turned off; a plain-text sitemap is one URL per line."""
    from lxml import etree

    head = data.lstrip()[:1]
    if head == b"<":
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
        try:
            root = etree.fromstring(data, parser=parser)
        except etree.XMLSyntaxError as exc:
            raise ExtractionError("parse_error", f"not a readable sitemap ({exc})") from None
        tag = etree.QName(root).localname
        if tag not in ("sitemapindex", "urlset"):
            raise ExtractionError("parse_error", f"the XML root is <{tag}>, not <urlset> or <sitemapindex>")
        child = "sitemap" if tag == "sitemapindex" else "url"
        entries = []
        for node in root:
            if not isinstance(node.tag, str) or etree.QName(node).localname != child:
                continue
            fields = {etree.QName(el).localname: (el.text or "").strip() for el in node if isinstance(el.tag, str)}
            if fields.get("loc"):
                entries.append((fields["loc"], fields.get("lastmod") or None))
        return ("index" if tag == "sitemapindex" else "urlset"), entries
    try:
        lines = [line.strip() for line in data.decode("utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise ExtractionError("parse_error", "not a sitemap (neither XML nor UTF-8 text)") from None
    if not lines or not all(line.startswith(("http://", "https://")) for line in lines):
        raise ExtractionError("parse_error", "not a sitemap (neither XML nor a list of URLs)")
    return "urlset", [(line, None) for line in lines]


__all__ = ["SitemapSource", "list_sitemap", "parse_sitemap"]
