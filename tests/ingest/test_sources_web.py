"""WebSource and Fetcher against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from httpserver import LocalServer, Reply, make_fetcher, read_all, serve

from ingest.sources.web import WebSource
from reffy.config import Settings, load_settings
from reffy.models import Gone, Problem, RawRecord, Unchanged

STORY = [
    "Acme Logistics moved its entire dispatch platform to Reffy Cloud in under six weeks.",
    "Before the migration, planners waited up to forty minutes for route recalculations every morning.",
    "After the switch, recalculation takes ninety seconds and the team ships twice as many orders per day.",
    "The chief operating officer said the project paid for itself within the first quarter of operation.",
]


def article(title: str = "How Acme cut dispatch time by 95%", paragraphs: list[str] = STORY) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!doctype html><html><head><title>{title} | Example Blog</title></head><body>
    <nav><ul><li><a href="/">Home</a></li><li><a href="/pricing">Pricing</a></li><li><a href="/careers">Careers</a></li></ul></nav>
    <article><h1>{title}</h1>{body}</article>
    <footer><p>Subscribe to our newsletter for weekly product updates.</p><p>Copyright 2024 Example Inc. All rights reserved.</p></footer>
    </body></html>"""


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    """The local test server is on 127.0.0.1: private addresses allowed; pages here are short."""
    return load_settings(
        home=tmp_path,
        **{"http_retries": 2, "http_timeout_s": 2.0, "allow_private_urls": True, "min_story_chars": 100, **overrides},
    )


@pytest.fixture
def server() -> LocalServer:
    with serve() as s:
        yield s


def only(items: list, kind: type) -> list:
    return [i for i in items if isinstance(i, kind)]


def test_article_page_keeps_story_and_drops_boilerplate(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/stories/acme", Reply(article()))
    settings = settings_for(tmp_path)
    [record] = read_all(WebSource([url], fetcher=make_fetcher(settings)), settings)
    assert isinstance(record, RawRecord)
    assert (record.origin, record.source_uri, record.source_type) == (url, url, "web")
    assert record.source_record_id is None
    assert "How Acme cut dispatch time" in record.title
    for sentence in STORY:
        assert sentence in record.text
    for boilerplate in ("Pricing", "Careers", "newsletter", "All rights reserved"):
        assert boilerplate not in record.text
    assert record.meta["url"] == url
    assert server.requests[0][1]["user-agent"] == settings.user_agent


def test_5xx_is_retried_with_exponential_backoff(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/flaky", Reply("down", status=500), Reply("down", status=500), Reply(article()))
    settings, sleeps = settings_for(tmp_path), []
    items = read_all(WebSource([url], fetcher=make_fetcher(settings, sleeps)), settings)
    assert [type(i) for i in items] == [RawRecord]
    assert server.hits["/flaky"] == 3
    assert sleeps == [0.5, 1.0]


def test_persistent_5xx_gives_fetch_failed_after_retries(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/down", Reply("down", status=503))
    settings = settings_for(tmp_path, http_retries=2)
    [problem] = read_all(WebSource([url], fetcher=make_fetcher(settings)), settings)
    assert isinstance(problem, Problem) and problem.reason == "fetch_failed" and problem.origin == url
    assert "503" in problem.detail and "retry later" in problem.detail
    assert server.hits["/down"] == 3


def test_retry_after_is_honoured_up_to_a_cap(server: LocalServer, tmp_path: Path) -> None:
    a = server.route("/a", Reply("slow down", status=429, headers={"Retry-After": "3"}), Reply(article()))
    b = server.route("/b", Reply("slow down", status=429, headers={"Retry-After": "9999"}), Reply(article()))
    settings, sleeps = settings_for(tmp_path, http_concurrency=1), []
    items = read_all(WebSource([a, b], fetcher=make_fetcher(settings, sleeps)), settings)
    assert [type(i) for i in items] == [RawRecord, RawRecord]
    assert sleeps == [3.0, 10.0]


def test_404_yields_not_found_and_gone_without_retrying(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/deleted", Reply("nope", status=404))
    settings = settings_for(tmp_path)
    items = read_all(WebSource([url], fetcher=make_fetcher(settings)), settings)
    assert [type(i) for i in items] == [Problem, Gone]
    assert items[0].reason == "not_found" and items[1].origin == url
    assert server.hits["/deleted"] == 1


def test_other_4xx_fails_without_retrying(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/private", Reply("no", status=403))
    settings = settings_for(tmp_path)
    [problem] = read_all(WebSource([url], fetcher=make_fetcher(settings)), settings)
    assert problem.reason == "fetch_failed" and "403" in problem.detail
    assert server.hits["/private"] == 1


def test_empty_page_is_a_problem(server: LocalServer, tmp_path: Path) -> None:
    app = "<html><head><title>App</title></head><body><div id='root'></div><script>render()</script></body></html>"
    url = server.route("/empty", Reply(app))
    settings = settings_for(tmp_path)
    [problem] = read_all(WebSource([url], fetcher=make_fetcher(settings)), settings)
    assert isinstance(problem, Problem) and problem.reason == "empty" and problem.severity == "error"


@pytest.mark.parametrize("send_length", [True, False], ids=["content-length", "streamed"])
def test_page_over_the_size_cap_is_too_large(server: LocalServer, tmp_path: Path, send_length: bool) -> None:
    url = server.route("/huge", Reply(article(paragraphs=STORY * 200), send_length=send_length))
    settings = settings_for(tmp_path, max_page_mb=0.01)
    [problem] = read_all(WebSource([url], fetcher=make_fetcher(settings)), settings)
    assert isinstance(problem, Problem) and problem.reason == "too_large"
    assert "REFFY_MAX_PAGE_MB" in problem.detail
    assert server.hits["/huge"] == 1  # not retried


def test_slow_endpoint_times_out(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/slow", Reply(article(), delay=1.5))
    settings = settings_for(tmp_path, http_timeout_s=0.2, http_retries=1)
    started = time.monotonic()
    [problem] = read_all(WebSource([url], fetcher=make_fetcher(settings)), settings)
    assert isinstance(problem, Problem) and problem.reason == "fetch_failed"
    assert "did not answer within 0.2 s" in problem.detail
    assert server.hits["/slow"] == 2  # timeouts are transient: retried once
    assert time.monotonic() - started < 1.4


def test_non_html_content_is_unsupported(server: LocalServer, tmp_path: Path) -> None:
    pdf = server.route("/deck.pdf", Reply(b"%PDF-1.7\n...", content_type="application/pdf"))
    png = server.route("/logo.png", Reply(b"\x89PNG\r\n\x1a\n...", content_type="image/png"))
    settings = settings_for(tmp_path)
    pdf_problem, png_problem = read_all(WebSource([pdf, png], fetcher=make_fetcher(settings)), settings)
    assert (pdf_problem.reason, pdf_problem.severity) == ("unsupported", "warning")
    assert "download it and ingest the file" in pdf_problem.detail
    assert (png_problem.reason, png_problem.severity) == ("unsupported", "error")
    assert "image/png" in png_problem.detail


def test_redirect_is_followed(server: LocalServer, tmp_path: Path) -> None:
    old = server.route("/old", Reply("", status=301, headers={"Location": "/new"}))
    new = server.route("/new", Reply(article()))
    settings = settings_for(tmp_path)
    [record] = read_all(WebSource([old], fetcher=make_fetcher(settings)), settings)
    assert isinstance(record, RawRecord)
    assert record.origin == old and record.source_uri == new and record.meta["url"] == new
    assert STORY[0] in record.text


def test_one_failing_url_does_not_stop_the_others(server: LocalServer, tmp_path: Path) -> None:
    urls = [
        server.route("/one", Reply(article("Story one"))),
        server.route("/two", Reply("boom", status=500)),
        server.route("/three", Reply(article("Story three"))),
        "ftp://example.invalid/file",
    ]
    settings = settings_for(tmp_path, http_retries=0)
    items = read_all(WebSource(urls, fetcher=make_fetcher(settings)), settings)
    assert [(type(i).__name__, i.origin) for i in items] == [
        ("RawRecord", urls[0]),
        ("Problem", urls[1]),
        ("RawRecord", urls[2]),
        ("Problem", urls[3]),
    ]
    assert items[1].reason == "fetch_failed" and items[3].reason == "unsupported"
    assert [items[0].title, items[2].title] == ["Story one", "Story three"]


def test_concurrency_is_bounded(server: LocalServer, tmp_path: Path) -> None:
    urls = [server.route(f"/p{i}", Reply(article(f"Story {i}"), delay=0.15)) for i in range(8)]
    settings = settings_for(tmp_path, http_concurrency=2)
    items = read_all(WebSource(urls, fetcher=make_fetcher(settings)), settings)
    assert [i.title for i in items] == [f"Story {i}" for i in range(8)]  # input order kept
    assert server.max_in_flight == 2  # parallel, but never more than the setting


def test_feed_url_is_detected_and_read_as_a_feed(server: LocalServer, tmp_path: Path) -> None:
    text = " ".join(STORY)
    rss = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Acme blog</title>
    <item><title>Acme story</title><link>https://blog.example/acme</link><guid isPermaLink="false">acme-1</guid>
    <description>{text}</description></item></channel></rss>"""
    url = server.route("/feed", Reply(rss, content_type="text/xml"))  # generic type: found by sniffing
    settings = settings_for(tmp_path, feed_min_chars=50)
    source = WebSource([url], fetcher=make_fetcher(settings))
    [record] = read_all(source, settings)
    assert isinstance(record, RawRecord)
    assert (record.source_type, record.origin, record.source_record_id) == ("feed", url, "acme-1")
    assert record.text == text
    assert source.scope == url


def test_etag_is_the_fingerprint_and_304_means_unchanged(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/cached", Reply(article(), headers={"ETag": '"v1"'}), Reply("", status=304))
    settings = settings_for(tmp_path)
    [record] = read_all(WebSource([url], fetcher=make_fetcher(settings)), settings)
    assert record.origin_fingerprint == 'etag:"v1"'
    assert "etag" not in str(record.meta).lower()  # volatile values stay out of the content hash
    items = read_all(WebSource([url], fetcher=make_fetcher(settings)), settings, {url: record.origin_fingerprint})
    assert items == [Unchanged(url)]
    assert server.requests[1][1]["if-none-match"] == '"v1"'
