"""A bounded same-site crawl: from a start page, follow links under its path prefix.

Breadth-first from the start URL, only to pages on the same site whose path starts with the
start page's folder (``https://vendor.example/customers/`` stays under ``/customers/``) and
passes ``--include``/``--exclude``; at most ``max_pages`` requests and ``max_depth`` links
from the start. robots.txt is obeyed (a disallowed page is never requested) and requests are
paced (:mod:`ingest.sources.site`).

Each page is its own origin. A page answers a conditional GET with the validator it gave last
time; on a 304 its links come from what the registry recorded, since there is no body to read
them from, so an unchanged site is crawled without transferring a page. Index pages (too little
text to be a story) are followed but not ingested. After a crawl that reached its end within the
caps, pages found before and not reached now are yielded as :class:`~reffy.models.Gone`; a crawl
stopped by a cap removes nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ingest.registry import ItemState
from ingest.sources.base import ReadContext, describe_failure
from ingest.sources.http import Fetcher, FetchError, FetchResult, NotFound
from ingest.sources.site import Pace, PathFilter, fetch_robots, page_links, same_site
from ingest.sources.web import page_kind, page_record
from reffy.models import Gone, Problem, RawRecord, SourceItem, Unchanged
from reffy.wording import plural

if TYPE_CHECKING:
    from reffy.config import Settings

NOT_A_STORY = frozenset({"too_short", "empty"})
INDEX_LINK_SHARE = 0.6  # a page whose text is at least this much link text is a listing, not a story


def path_prefix(url: str) -> str:
    """The folder of the start page: ``/customers/`` for ``/customers/`` and ``/customers/index.html``."""
    path = urlsplit(url).path or "/"
    return path if path.endswith("/") else path.rsplit("/", 1)[0] + "/"


def is_index_page(result: FetchResult, link_share: float = INDEX_LINK_SHARE) -> bool:
    """True for a page whose text is mostly link text (a listing of stories, a tag page): the
    crawl follows it but it is not a story, however long its list."""
    from lxml import etree, html

    try:
        doc = html.fromstring(result.content)
    except (etree.ParserError, ValueError):
        return False
    for bad in doc.xpath("//script|//style|//nav|//footer|//header"):
        bad.drop_tree()
    body = doc.find("body")
    text = " ".join((body if body is not None else doc).text_content().split())
    if not text:
        return False
    linked = sum(len(" ".join(a.text_content().split())) for a in doc.iter("a"))
    return linked / len(text) >= link_share


class CrawlSource:
    """A crawl from one start URL; ``state``/``complete`` describe what it reached."""

    name = "crawl"
    scope: str | None = None

    def __init__(
        self,
        start: str,
        *,
        known: Mapping[str, ItemState] | None = None,
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        max_pages: int = 200,
        max_depth: int = 3,
        fetcher: Fetcher | None = None,
    ) -> None:
        self.start = start
        self.prefix = path_prefix(start)
        self.known = dict(known or {})
        self.keep = PathFilter(include, exclude)
        self.max_pages = max_pages
        self.max_depth = max_depth
        self._fetcher = fetcher
        self.state: dict[str, ItemState] = {}
        self.complete = False

    def read(self, ctx: ReadContext) -> Iterator[SourceItem]:
        fetcher = self._fetcher or Fetcher(ctx.settings)
        try:
            yield from self._crawl(ctx, fetcher)
        finally:
            if fetcher is not self._fetcher:
                fetcher.close()

    def _in_bounds(self, url: str) -> bool:
        return same_site(url, self.start) and (urlsplit(url).path or "/").startswith(self.prefix) and self.keep(url)

    def _crawl(self, ctx: ReadContext, fetcher: Fetcher) -> Iterator[SourceItem]:
        settings = ctx.settings
        try:
            robots = fetch_robots(fetcher, self.start, settings.user_agent)
        except FetchError as exc:
            yield Problem(self.start, exc.reason, exc.detail)
            return
        pace = Pace.for_site(settings.crawl_delay_s, robots)
        frontier: deque[tuple[str, int]] = deque([(self.start, 0)])
        queued = {self.start}
        requests = disallowed = not_stories = 0
        complete = True
        while frontier:
            url, depth = frontier.popleft()
            if not robots.allowed(url):
                disallowed += 1
                continue
            if requests >= self.max_pages:
                complete = False
                yield Problem(
                    self.start,
                    "too_large",
                    f"the crawl from {self.start} stopped after {plural(requests, 'page')} (--max-pages / "
                    "REFFY_CRAWL_MAX_PAGES); pages beyond were not read and nothing was removed",
                    "warning",
                )
                break
            known = self.known.get(url)
            validator = (known.validator if known is not None and known.ok else None) or ctx.fingerprints.get(url)
            pace.wait()
            requests += 1
            try:
                outcome: FetchResult | FetchError = fetcher.fetch(url, validator=validator)
            except FetchError as exc:
                outcome = exc
            links: list[str] = []
            try:  # each page in its own error boundary
                for item in self._page(url, outcome, known, settings):
                    if isinstance(item, Problem) and item.reason in NOT_A_STORY and item.origin == url:
                        not_stories += 1
                        self.state[url].ok = True  # an index page: followed, not a story
                        continue
                    yield item
                links = self.state[url].links if url in self.state else []
            except Exception as exc:
                reason, detail = describe_failure(exc, "the page")
                self.state[url] = ItemState(url)
                yield Problem(url, reason, f"{url}: {detail}")
            if depth >= self.max_depth:
                continue
            for link in links:
                if link not in queued and self._in_bounds(link):
                    queued.add(link)
                    frontier.append((link, depth + 1))
        if disallowed:
            yield Problem(
                self.start,
                "disallowed",
                f"{plural(disallowed, 'linked page')} under {self.start} {'is' if disallowed == 1 else 'are'} "
                "disallowed by the site's robots.txt for our User-Agent (REFFY_USER_AGENT): not fetched",
                "warning",
            )
        if not_stories:
            yield Problem(
                self.start,
                "too_short",
                f"{plural(not_stories, 'crawled page')} had too little text to be a story (index or listing "
                "pages, REFFY_MIN_STORY_CHARS): followed, not ingested",
                "warning",
            )
        if complete:
            for origin in self.known:
                if origin not in self.state:
                    yield Gone(origin, f"no longer reached from {self.start}")
        self.complete = complete

    def _page(
        self, url: str, outcome: FetchResult | FetchError, known: ItemState | None, settings: Settings
    ) -> Iterator[SourceItem]:
        old_links = known.links if known is not None else []
        if isinstance(outcome, FetchError):
            yield Problem(url, outcome.reason, outcome.detail)
            if isinstance(outcome, NotFound):
                yield Gone(url, outcome.detail)
            else:  # a failing page keeps its place and its links: its subtree is still reached
                self.state[url] = ItemState(url, links=old_links)
            return
        if outcome.not_modified:
            self.state[url] = ItemState(url, None, known.validator if known else None, old_links, ok=True)
            yield Unchanged(url)
            return
        if not same_site(outcome.final_url, self.start):
            self.state[url] = ItemState(url)
            yield Problem(url, "off_site", f"{url} redirects to another site ({outcome.final_url}); skipped", "warning")
            return
        kind = page_kind(outcome)
        if kind != "html":
            self.state[url] = ItemState(url)
            yield Problem(url, "unsupported", f"{url} returned {kind}, not an HTML page", "warning")
            return
        links = page_links(outcome)
        if is_index_page(outcome):
            self.state[url] = ItemState(url, None, outcome.validator, links, ok=True)
            yield Problem(url, "too_short", f"{url} is a list of links, not a story", "warning")
            return
        item = page_record(url, outcome, settings)
        self.state[url] = ItemState(url, None, outcome.validator, links, ok=isinstance(item, RawRecord))
        yield item


__all__ = ["CrawlSource", "path_prefix"]
