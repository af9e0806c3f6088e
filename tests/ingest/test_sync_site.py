"""`reffy sync` of a sitemap source against the generated website on 127.0.0.1 (tests/sitegen.py):
what is fetched, what is not, what a change and a removal do, down to search."""

from __future__ import annotations

from pathlib import Path

import pytest
from sitegen import Site, SiteServer, serve_site

from ingest import registry
from ingest.sync import read_source
from reffy.auth import LOCAL_USER
from reffy.config import Settings, load_settings
from reffy.service import ReffyService
from reffy.store.warehouse import open_warehouse


def site_settings(home: Path, **overrides: object) -> Settings:
    """The site is on 127.0.0.1 (private addresses allowed, as the web tests do); no polite pause."""
    return load_settings(
        home=home, **{"allow_private_urls": True, "crawl_delay_s": 0.0, "http_timeout_s": 5.0, **overrides}
    )


@pytest.fixture
def site() -> SiteServer:
    with serve_site() as server:
        yield server


def add(settings: Settings, spec: str, **options: object) -> registry.RegisteredSource:
    svc = ReffyService(settings)
    row = svc.add_source(LOCAL_USER, spec, **options)  # type: ignore[arg-type]
    with open_warehouse(settings.db_path) as con:
        return registry.get_source(con, row["name"])


def current_origins(settings: Settings) -> list[str]:
    with open_warehouse(settings.db_path) as con:
        rows = con.execute(
            "SELECT origin FROM bronze_records WHERE superseded_at IS NULL AND removed_at IS NULL ORDER BY origin"
        ).fetchall()
    return [r[0] for r in rows]


def sync_once(settings: Settings, name: str):
    with open_warehouse(settings.db_path) as con:
        source = registry.get_source(con, name)
    return read_source(settings, source)


def test_sitemap_sync_fetches_each_allowed_page_once_then_nothing(site: SiteServer, tmp_path: Path) -> None:
    settings = site_settings(tmp_path)
    web: Site = site.site
    add(settings, site.url("/sitemap_index.xml"), name="site")

    first = sync_once(settings, "site")
    assert first.status == "completed" and first.complete
    assert first.counts["new"] == len(web.allowed_paths) == 96
    assert current_origins(settings) == sorted(site.url(p) for p in web.allowed_paths)
    for path in web.allowed_paths:
        assert web.hits[path] == 1, path  # each allowed page requested once (the redirect once too)
    assert web.hits["/customers/acme-new"] == 1  # the redirect's target, fetched through it
    assert all(web.hits[p] == 0 for p in web.disallowed_paths)  # robots.txt is obeyed
    assert web.page_bodies() == 96

    web.reset_counts()
    second = sync_once(settings, "site")
    assert (second.counts["new"], second.counts["updated"], second.counts["removed"]) == (0, 0, 0)
    assert second.counts["unchanged"] == 96
    assert web.page_bodies() == 0  # lastmod skips, conditional requests get 304s
    with_lastmod = [p for p, page in web.pages.items() if page.listed_in == 1]
    assert all(web.hits[p] == 0 for p in with_lastmod)  # an unchanged lastmod: not even requested
    assert sum(web.not_modified.values()) == len(web.allowed_paths) - len(with_lastmod)
    assert all(web.hits[p] == 0 for p in web.disallowed_paths)

    web.change("/customers/story-010")  # listed with a lastmod
    web.change("/customers/story-070")  # listed without one: found by its ETag
    web.take_down("/customers/story-033")
    web.reset_counts()
    third = sync_once(settings, "site")
    assert (third.counts["new"], third.counts["updated"], third.counts["removed"]) == (0, 2, 1)
    assert web.page_bodies() == 2
    assert site.url("/customers/story-033") not in current_origins(settings)
    with open_warehouse(settings.db_path) as con:
        versions = dict(
            con.execute(
                "SELECT origin, max(version) FROM bronze_records GROUP BY origin HAVING max(version) > 1"
            ).fetchall()
        )
    assert versions == {site.url("/customers/story-010"): 2, site.url("/customers/story-070"): 2}


def test_path_filter_and_a_failing_sitemap_remove_nothing(site: SiteServer, tmp_path: Path) -> None:
    settings = site_settings(tmp_path)
    web: Site = site.site
    add(settings, site.url("/sitemap_index.xml"), name="some", include=["/customers/story-00*"])
    done = sync_once(settings, "some")
    assert done.counts["new"] == 9  # story-001 .. story-009
    assert all(web.hits[f"/customers/story-{n:03d}"] == 0 for n in range(10, 95))

    web.pages["/customers/story-001"].listed_in = 3  # now in no sitemap: would be removed ...
    original = web.sitemap
    web.sitemap = lambda number, base: b"\x1f\x8b broken"  # type: ignore[method-assign]
    try:
        broken = sync_once(settings, "some")
    finally:
        web.sitemap = original  # type: ignore[method-assign]
    assert broken.counts["removed"] == 0 and not broken.complete  # ... but the listing was incomplete
    assert broken.counts["errors"] >= 1
    assert len(current_origins(settings)) == 9


def test_full_sync_updates_search_and_a_noop_sync_skips_the_rebuild(tmp_path: Path) -> None:
    """Score, build and index run once per sync with changes; a removed page leaves search."""
    with serve_site(Site(stories=6)) as site:
        settings = site_settings(tmp_path, gold_min_score=0)
        svc = ReffyService(settings)
        svc.add_source(LOCAL_USER, site.url("/sitemap_index.xml"), name="site", kind="sitemap")
        lines: list[str] = []
        first = svc.sync(LOCAL_USER, report=lines.append)
        assert first.downstream is not None and first.downstream["index"]["stories"] == 8
        gone_title = site.site.pages["/customers/story-004"].title
        company = gone_title.removeprefix("How ").split(" cut ")[0]
        hits = svc.search(company, mode="keyword", k=3, log=False).hits
        assert hits and hits[0].title == gone_title

        again = svc.sync(LOCAL_USER, report=lines.append)
        assert again.downstream is None and "Nothing changed: score, build and index skipped." in lines

        site.site.take_down("/customers/story-004")
        third = svc.sync(LOCAL_USER)
        assert third.sources[0].counts["removed"] == 1
        assert third.downstream is not None and third.downstream["index"]["stories"] == 7
        assert all(h.title != gone_title for h in svc.search(company, mode="keyword", k=10, log=False).hits)
        [row] = svc.sources(LOCAL_USER)
        assert (row["status"], row["records"], row["last_run_id"]) == ("completed", 7, third.sources[0].run_id)
        runs = svc.sync_runs(LOCAL_USER)
        assert [r["status"] for r in runs] == ["completed"] * 3
        assert runs[0]["sources"]["site"]["removed"] == 1 and runs[1]["downstream"] is None


def rss(*entries: tuple[str, str]) -> str:
    items = "".join(
        f"<item><guid>{guid}</guid><title>{guid} story</title><link>https://stories.example/{guid}</link>"
        f"<description>{text}</description></item>"
        for guid, text in entries
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Stories</title>{items}</channel></rss>'


def test_a_feed_source_removes_the_entry_gone_from_the_feed(tmp_path: Path) -> None:
    from httpserver import Reply, serve

    long = "Globex rebuilt its claims pipeline on Quillon and cut processing time from nine days to two. " * 3
    with serve() as server:
        url = server.route(
            "/feed.xml",
            Reply(
                rss(("globex", long), ("initech", long.replace("Globex", "Initech"))),
                content_type="application/rss+xml",
                headers={"ETag": '"v1"'},
            ),
        )
        settings = site_settings(tmp_path, feed_min_chars=100)
        add(settings, url, name="feed")
        first = sync_once(settings, "feed")
        assert first.counts["new"] == 2 and first.complete
        server.route(
            "/feed.xml", Reply(rss(("globex", long)), content_type="application/rss+xml", headers={"ETag": '"v2"'})
        )
        second = sync_once(settings, "feed")
        assert (second.counts["unchanged"], second.counts["removed"]) == (1, 1)
        assert server.requests[-1][1].get("if-none-match") == '"v1"'  # asked conditionally
    with open_warehouse(settings.db_path) as con:
        [count] = con.execute(
            "SELECT count(*) FROM bronze_records WHERE superseded_at IS NULL AND removed_at IS NULL"
        ).fetchone()
    assert count == 1
