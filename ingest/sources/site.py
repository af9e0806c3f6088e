"""What reading a whole website needs beyond one page: robots.txt, a polite pace, URL filters.

* **robots.txt** is parsed by Protego (Scrapy's parser: wildcards, ``$``, longest match wins,
  ``Crawl-delay``, ``Sitemap:`` lines), fetched through the same guarded
  :class:`~ingest.sources.http.Fetcher` as every page. Per RFC 9309 a robots.txt that does not
  exist (404/410) allows everything; one that cannot be read (5xx, network) stops the site for
  this sync, since its rules are unknown.
* **Pace**: requests to a site are spaced by ``REFFY_CRAWL_DELAY_S`` or the site's own
  Crawl-delay when longer (capped at 30 s). With no delay, pages are fetched a few at once
  (``REFFY_HTTP_CONCURRENCY``), as for a URL list.
* **Filters**: ``--include``/``--exclude`` globs match a URL's path (``/customers/*``); a
  pattern with no wildcard is a prefix (``/customers/``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from urllib.parse import urldefrag, urljoin, urlsplit

from protego import Protego

from ingest.sources.http import Fetcher, FetchError, FetchResult, NotFound

MAX_CRAWL_DELAY_S = 30.0


class Robots:
    """The rules of one site for our User-Agent."""

    def __init__(self, text: str | None, user_agent: str) -> None:
        self._rules = Protego.parse(text) if text else None
        self.user_agent = user_agent

    def allowed(self, url: str) -> bool:
        return self._rules is None or self._rules.can_fetch(url, self.user_agent)

    @property
    def crawl_delay(self) -> float | None:
        if self._rules is None:
            return None
        delay = self._rules.crawl_delay(self.user_agent)
        return float(delay) if delay is not None else None

    @property
    def sitemaps(self) -> list[str]:
        return list(self._rules.sitemaps) if self._rules is not None else []


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


def fetch_robots(fetcher: Fetcher, url: str, user_agent: str) -> Robots:
    """The site's robots.txt rules; FetchError when it exists but cannot be read."""
    try:
        result = fetcher.fetch(robots_url(url))
    except NotFound:
        return Robots(None, user_agent)
    except FetchError as exc:
        raise FetchError(
            exc.reason,
            f"{robots_url(url)} could not be read ({exc.detail}); without the site's rules nothing was "
            "fetched from it this sync, and nothing was removed: retry later",
        ) from None
    return Robots(result.text(), user_agent)


class Pace:
    """Spaces requests to one site: ``wait()`` before each one."""

    def __init__(
        self,
        delay_s: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.delay_s = max(0.0, delay_s)
        self._sleep = sleep
        self._clock = clock
        self._last: float | None = None

    @classmethod
    def for_site(cls, delay_s: float, robots: Robots, **kwargs: Callable[..., float]) -> Pace:
        asked = robots.crawl_delay
        return cls(max(delay_s, min(asked, MAX_CRAWL_DELAY_S)) if asked else delay_s, **kwargs)  # type: ignore[arg-type]

    def wait(self) -> None:
        if self.delay_s and self._last is not None:
            left = self._last + self.delay_s - self._clock()
            if left > 0:
                self._sleep(left)
        self._last = self._clock()


def fetch_paced(
    fetcher: Fetcher, urls: Sequence[str], validators: Mapping[str, str], pace: Pace
) -> Iterator[tuple[str, FetchResult | FetchError]]:
    """Fetch in order, one at a time at the site's pace; concurrently when there is no delay."""
    if not pace.delay_s:
        yield from fetcher.fetch_many(urls, validators=validators)
        return
    for url in urls:
        pace.wait()
        try:
            yield url, fetcher.fetch(url, validator=validators.get(url))
        except FetchError as exc:
            yield url, exc


class PathFilter:
    """``--include``/``--exclude`` over URL paths: globs, or prefixes when a pattern has no wildcard."""

    def __init__(self, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> None:
        self.include = [p for p in include if p]
        self.exclude = [p for p in exclude if p]

    @staticmethod
    def _match(path: str, pattern: str) -> bool:
        if any(c in pattern for c in "*?["):
            return fnmatchcase(path, pattern)
        return path.startswith(pattern)

    def __call__(self, url: str) -> bool:
        path = urlsplit(url).path or "/"
        if self.include and not any(self._match(path, p) for p in self.include):
            return False
        return not any(self._match(path, p) for p in self.exclude)


def same_site(url: str, site: str) -> bool:
    """Same scheme-less host (``www.`` ignored) and port."""

    def key(u: str) -> tuple[str, int | None]:
        parts = urlsplit(u)
        try:
            port = parts.port
        except ValueError:
            port = -1
        return (parts.hostname or "").lower().removeprefix("www."), port

    return key(url) == key(site)


def page_links(result: FetchResult) -> list[str]:
    """The absolute http(s) links of an HTML page (``<a href>``), fragments dropped, in order."""
    from lxml import etree, html

    try:
        doc = html.fromstring(result.content)
    except (etree.ParserError, ValueError):
        return []
    links: list[str] = []
    for href in doc.xpath("//a/@href"):
        target = urldefrag(urljoin(result.final_url, str(href).strip()))[0]
        if urlsplit(target).scheme in ("http", "https") and target not in links:
            links.append(target)
    return links


__all__ = ["Pace", "PathFilter", "Robots", "fetch_paced", "fetch_robots", "page_links", "same_site"]
