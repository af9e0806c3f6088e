"""Sitemap parsing, robots.txt, path filters and crawls, against real servers on 127.0.0.1."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from httpserver import Reply, make_fetcher, read_all, serve
from sitegen import Site, serve_site

from ingest.sources.base import ExtractionError
from ingest.sources.crawl import CrawlSource, path_prefix
from ingest.sources.site import Pace, PathFilter, Robots, same_site
from ingest.sources.sitemap import SitemapSource, _unpacked, parse_sitemap
from reffy.config import Settings, load_settings
from reffy.models import Gone, Problem, RawRecord, Unchanged


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(
        home=tmp_path, **{"allow_private_urls": True, "crawl_delay_s": 0.0, "http_timeout_s": 5.0, **overrides}
    )


def of(items: list, kind: type) -> list:
    return [i for i in items if isinstance(i, kind)]


# -- parsing --------------------------------------------------------------------------------
def test_parse_sitemap_index_urlset_and_plain_text() -> None:
    index = (
        b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://a.example/s1.xml.gz</loc><lastmod>2026-01-01</lastmod></sitemap>"
        b"<sitemap><loc> https://a.example/s2.xml </loc></sitemap></sitemapindex>"
    )
    assert parse_sitemap(index) == (
        "index",
        [("https://a.example/s1.xml.gz", "2026-01-01"), ("https://a.example/s2.xml", None)],
    )
    urlset = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://x/image">'
        b"<url><loc>https://a.example/customers/a</loc><lastmod>2026-02-03T10:00:00Z</lastmod>"
        b"<image:image><image:loc>https://a.example/a.png</image:loc></image:image></url>"
        b"<url><lastmod>2026-01-01</lastmod></url></urlset>"  # no loc: skipped
    )
    assert parse_sitemap(urlset) == ("urlset", [("https://a.example/customers/a", "2026-02-03T10:00:00Z")])
    assert parse_sitemap(b"https://a.example/x\n\nhttps://a.example/y\n") == (
        "urlset",
        [("https://a.example/x", None), ("https://a.example/y", None)],
    )


@pytest.mark.parametrize(
    "data",
    [b"<html><body>not a sitemap</body></html>", b"<urlset><url>", b"just some words", b"\xff\xfe\x00garbage"],
)
def test_what_is_not_a_sitemap_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ExtractionError) as caught:
        parse_sitemap(data)
    assert caught.value.reason == "parse_error"


def test_entities_are_not_expanded() -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&x;</loc></url></urlset>'
    )
    kind, entries = parse_sitemap(evil)
    assert kind == "urlset" and all("root:" not in loc for loc, _ in entries)


def test_gzip_is_unpacked_and_a_gzip_bomb_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _unpacked(gzip.compress(b"<urlset/>"), "u") == b"<urlset/>"
    monkeypatch.setattr("ingest.sources.sitemap.MAX_SITEMAP_MB", 1)
    with pytest.raises(ExtractionError) as caught:
        _unpacked(gzip.compress(b"\0" * (3 * 1024 * 1024)), "u")
    assert caught.value.reason == "too_large"
    with pytest.raises(ExtractionError):
        _unpacked(b"\x1f\x8b\x08 truncated", "u")


def test_path_filter_globs_and_prefixes() -> None:
    keep = PathFilter(["/customers/*"], ["/customers/internal/*"])
    assert keep("https://a.example/customers/acme")
    assert not keep("https://a.example/customers/internal/deal")
    assert not keep("https://a.example/blog/acme")
    prefix = PathFilter(["/customers/"])
    assert prefix("https://a.example/customers/x") and not prefix("https://a.example/customersx")
    assert PathFilter()("https://a.example/anything")


def test_robots_rules_protego() -> None:
    robots = Robots("User-agent: *\nDisallow: /private/\nDisallow: /*.pdf$\nCrawl-delay: 2\n", "Reffy/0.1")
    assert robots.allowed("https://a.example/customers/a")
    assert not robots.allowed("https://a.example/private/a")
    assert not robots.allowed("https://a.example/files/deck.pdf")  # a wildcard rule
    assert robots.crawl_delay == 2.0
    assert Robots(None, "Reffy").allowed("https://a.example/private/a")  # no robots.txt: all allowed


def test_pace_spaces_requests_and_honours_crawl_delay() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(round(s, 3))
        now[0] += s

    pace = Pace.for_site(0.5, Robots("User-agent: *\nCrawl-delay: 2\n", "Reffy"), sleep=sleep, clock=lambda: now[0])
    for _ in range(3):
        pace.wait()
    assert sleeps == [2.0, 2.0]


def test_same_site() -> None:
    assert same_site("https://www.a.example/x", "https://a.example/sitemap.xml")
    assert not same_site("https://b.example/x", "https://a.example/sitemap.xml")
    assert not same_site("http://127.0.0.1:81/x", "http://127.0.0.1:80/")


# -- a sitemap source, server-side rules --------------------------------------------------------
def test_off_site_urls_and_robots_failures(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, http_retries=0)
    with serve() as server:
        server.route("/robots.txt", Reply("", status=404))
        sitemap = server.route(
            "/sitemap.xml",
            Reply(
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                "<url><loc>https://elsewhere.example/customers/a</loc></url></urlset>",
                content_type="application/xml",
            ),
        )
        items = read_all(SitemapSource(sitemap, fetcher=make_fetcher(settings)), settings)
        reasons = {p.reason for p in of(items, Problem)}
        assert reasons == {"off_site", "empty"} and not of(items, RawRecord)
        assert server.hits["/sitemap.xml"] == 1

        server.route("/robots.txt", Reply("down", status=503))
        source = SitemapSource(sitemap, fetcher=make_fetcher(settings))
        [problem] = read_all(source, settings)
        assert problem.reason == "fetch_failed" and "robots.txt could not be read" in problem.detail
        assert not source.complete and server.hits["/sitemap.xml"] == 1  # not read without the rules


def test_blocked_address_without_the_test_setting(tmp_path: Path) -> None:
    """With the default settings the local site is a private address: refused, nothing fetched."""
    settings = load_settings(home=tmp_path, http_retries=0)
    with serve_site(Site(stories=2)) as site:
        source = SitemapSource(site.url("/sitemap_index.xml"))
        items = read_all(source, settings)
        assert [p.reason for p in of(items, Problem)] == ["blocked_url"]
        assert sum(site.site.hits.values()) == 0


# -- crawls -----------------------------------------------------------------------------------
def test_path_prefix() -> None:
    assert path_prefix("https://a.example/customers/") == "/customers/"
    assert path_prefix("https://a.example/customers/index.html") == "/customers/"
    assert path_prefix("https://a.example") == "/"


def test_crawl_stays_in_bounds_obeys_robots_and_recrawls_without_bodies(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with serve_site(Site(stories=10)) as site:
        web = site.site
        source = CrawlSource(site.url("/customers/"), max_pages=50, max_depth=2)
        items = read_all(source, settings)
        records = of(items, RawRecord)
        # every story reachable from the index page, via the redirect too; the index page itself is no story
        assert len(records) == 10 + 2 + 1  # stories, slow page, acme-new, acme-old (redirect)
        assert source.complete
        assert all(web.hits[p] == 0 for p in web.disallowed_paths)
        assert web.hits["/pricing"] == 0 and web.hits["/"] == 0  # outside /customers/
        assert {p.reason for p in of(items, Problem)} == {"disallowed", "too_short"}

        web.reset_counts()
        again = CrawlSource(site.url("/customers/"), known=source.state, max_pages=50, max_depth=2)
        items = read_all(again, settings)
        # the index page sends no validator: read again (its links afresh); every story answers 304
        assert not of(items, RawRecord) and len(of(items, Unchanged)) == len(source.state) - 1
        assert web.page_bodies() == 0  # links of the 304 pages came from the registry
        assert again.complete and not of(items, Gone)

        web.take_down("/customers/story-003")
        third = CrawlSource(site.url("/customers/"), known=again.state, max_pages=50, max_depth=2)
        items = read_all(third, settings)
        assert [g.origin for g in of(items, Gone)] == [site.url("/customers/story-003")]


def test_crawl_caps_stop_it_and_then_nothing_is_removed(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with serve_site(Site(stories=10)) as site:
        first = CrawlSource(site.url("/customers/"), max_pages=50, max_depth=1)
        read_all(first, settings)
        capped = CrawlSource(site.url("/customers/"), known=first.state, max_pages=4, max_depth=1)
        items = read_all(capped, settings)
        assert sum(site.site.hits[p] for p in site.site.story_paths) <= 13 + 3  # first crawl + 3 more
        assert not capped.complete and not of(items, Gone)
        assert any(p.reason == "too_large" and "--max-pages" in p.detail for p in of(items, Problem))
        shallow = CrawlSource(site.url("/customers/"), max_pages=50, max_depth=0)
        assert not of(read_all(shallow, settings), RawRecord)  # depth 0: only the (index) start page
