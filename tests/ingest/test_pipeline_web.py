"""Web and feed sources through the whole pipeline, against a real local HTTP server."""

from __future__ import annotations

import pytest
from helpers import query, scalar
from httpserver import Reply, make_fetcher, serve

from ingest.sources.feeds import FeedSource
from ingest.sources.web import WebSource
from reffy.config import Settings, load_settings
from reffy.service import ReffyService

ARTICLE = """<html><head><title>{title}</title></head><body><nav>Home | Pricing | Blog</nav>
<article><h1>{title}</h1><p>{body}</p></article><footer>(c) Quillon</footer></body></html>"""
BODY = (
    "Tidewell Grocers, a supermarket chain in Ireland, used Quillon Assist to answer delivery questions. "
    "Within four months contact volume fell by a quarter and satisfaction rose by nine points. "
) * 3


@pytest.fixture
def settings(home) -> Settings:
    """The local test server is on 127.0.0.1: private addresses allowed."""
    return load_settings(home=home, allow_private_urls=True)


def rss(items: list[tuple[str, str, str]]) -> str:
    entries = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>{link}</link><description>short</description></item>"
        for guid, title, link in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>{entries}</channel></rss>'


def test_page_is_ingested_then_conditional_rerun_is_unchanged_then_404_removes_it(settings):
    with serve() as server:
        url = server.route("/story", Reply(ARTICLE.format(title="Tidewell", body=BODY), headers={"ETag": '"v1"'}))
        svc = ReffyService(settings)
        first = svc.ingest([url], sources=[WebSource([url], fetcher=make_fetcher(settings))])
        assert first.new == 1
        text = scalar(settings.home, "SELECT text FROM bronze_current")
        assert "Tidewell Grocers" in text and "Pricing" not in text

        server.route("/story", Reply("", status=304))
        again = svc.ingest([url], sources=[WebSource([url], fetcher=make_fetcher(settings))])
        assert (again.new, again.unchanged) == (0, 1)
        assert server.requests[-1][1].get("if-none-match") == '"v1"'

        server.route("/story", Reply("gone", status=404, content_type="text/plain"))
        gone = svc.ingest([url], sources=[WebSource([url], fetcher=make_fetcher(settings))])
        assert gone.removed == 1 and gone.errors == 1
        assert scalar(settings.home, "SELECT count(*) FROM bronze_current") == 0
        assert scalar(settings.home, "SELECT count(*) FROM bronze_records") == 1  # kept, marked removed


def test_feed_entries_are_followed_and_an_entry_gone_from_the_feed_is_removed(settings):
    with serve() as server:
        links = [
            server.route(f"/post{i}", Reply(ARTICLE.format(title=f"Post {i}", body=f"Post {i}. " + BODY)))
            for i in range(3)
        ]
        feed = server.route(
            "/feed",
            Reply(rss([(f"g{i}", f"Post {i}", links[i]) for i in range(3)]), content_type="application/rss+xml"),
        )
        svc = ReffyService(settings)
        first = svc.ingest([feed], sources=[FeedSource(feed, fetcher=make_fetcher(settings))])
        assert first.new == 3
        rows = query(settings.home, "SELECT source_record_id, origin, source_type FROM bronze_current ORDER BY 1")
        assert rows == [(f"g{i}", feed, "feed") for i in range(3)]
        assert "Post 1. Tidewell" in scalar(
            settings.home, "SELECT text FROM bronze_current WHERE source_record_id='g1'"
        )

        server.route(
            "/feed", Reply(rss([(f"g{i}", f"Post {i}", links[i]) for i in (0, 2)]), content_type="application/rss+xml")
        )
        second = svc.ingest([feed], sources=[FeedSource(feed, fetcher=make_fetcher(settings))])
        assert second.removed == 1
        assert {r for (r,) in query(settings.home, "SELECT source_record_id FROM bronze_current")} == {"g0", "g2"}


def test_a_failing_feed_removes_nothing(settings):
    with serve() as server:
        link = server.route("/post", Reply(ARTICLE.format(title="Post", body=BODY)))
        feed = server.route("/feed", Reply(rss([("g1", "Post", link)]), content_type="application/rss+xml"))
        svc = ReffyService(settings)
        svc.ingest([feed], sources=[FeedSource(feed, fetcher=make_fetcher(settings))])
        server.route("/feed", Reply("down", status=503, content_type="text/plain"))
        failed = svc.ingest([feed], sources=[FeedSource(feed, fetcher=make_fetcher(settings))])
        assert failed.removed == 0 and failed.errors == 1
        assert scalar(settings.home, "SELECT count(*) FROM bronze_current") == 1
