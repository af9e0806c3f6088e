"""URL ingest cannot be turned against the machine or network it runs on, and a web page
becomes public only when it was fetched from a listed public domain.

The local server is on 127.0.0.1, so with the default settings (private addresses refused)
it must never be reached. To play "public" hosts, the server acts as the HTTP proxy of a
client and the address guard is given a test DNS (see ``httpserver.proxy_fetcher``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import query, story
from httpserver import LocalServer, Reply, make_fetcher, proxy_fetcher, read_all, serve

from ingest.scoring.base import Scorer
from ingest.sources.feeds import FeedSource
from ingest.sources.http import MAX_REDIRECTS, Fetcher
from ingest.sources.web import WebSource
from reffy.config import Settings, load_settings
from reffy.models import Problem, RawRecord
from reffy.service import ReffyService

PARAGRAPHS = [
    "Acme Logistics moved its entire dispatch platform to Reffy Cloud in under six weeks.",
    "Before the migration, planners waited up to forty minutes for route recalculations every morning.",
    "After the switch, recalculation takes ninety seconds and the team ships twice as many orders per day.",
    "The chief operating officer said the project paid for itself within the first quarter of operation.",
    "Dispatchers now plan the next day before lunch, and late deliveries fell from nine to two percent.",
]
DNS = {
    "stories.example": "93.184.216.34",
    "www.stories.example": "93.184.216.34",
    "elsewhere.example": "93.184.216.35",
    "intranet.example": "10.1.2.3",
    "rebind.example": "93.184.216.36",
}


def article(title: str = "How Acme cut dispatch time by 95%", n: int | None = None) -> str:
    """A story page; ``n`` adds a paragraph of its own so that pages are not duplicates."""
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + (f"<p>{story(n, 300)}</p>" if n is not None else "")
    return f"<!doctype html><html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article></body></html>"


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(home=tmp_path / "home", **{"http_retries": 0, "http_timeout_s": 2.0, **overrides})


@pytest.fixture
def server() -> LocalServer:
    with serve() as s:
        yield s


def spellings(server: LocalServer) -> list[str]:
    """The local server, in every spelling of a loopback address a resolver accepts."""
    port = server.url("").rsplit(":", 1)[1]
    hosts = [
        "127.0.0.1",
        "localhost",
        "0x7f000001",
        "2130706433",
        "0177.0.0.1",
        "127.1",
        "[::ffff:127.0.0.1]",
        "[::1]",
        "[0:0:0:0:0:ffff:7f00:1]",
        "127.0.0.1.",
        "0.0.0.0",
        "stories.example@127.0.0.1",
        "stories.example\\@127.0.0.1",
    ]
    return [f"http://{host}:{port}/secret" for host in hosts]


def test_private_addresses_are_refused_in_every_spelling_and_never_reached(server: LocalServer, tmp_path: Path) -> None:
    server.route("/secret", Reply(article("Internal admin console")))
    urls = spellings(server)
    settings = settings_for(tmp_path)
    assert settings.allow_private_urls is False  # the default
    items = read_all(WebSource(urls, fetcher=make_fetcher(settings)), settings)
    assert len(items) == len(urls) and all(isinstance(i, Problem) for i in items)
    for url, problem in zip(urls, items, strict=True):
        assert (problem.origin, problem.reason, problem.severity) == (url, "blocked_url", "error")
        assert problem.detail.startswith(f"refused: {url}") and "REFFY_ALLOW_PRIVATE_URLS" in problem.detail
        assert "loopback" in problem.detail or "unspecified" in problem.detail
    assert server.requests == []  # not one request reached the server


def test_private_and_link_local_hosts_by_name_are_refused(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    fetcher = Fetcher(
        settings,
        resolver=lambda host, port: {
            "intranet.example": ["10.1.2.3"],
            "meta.example": ["93.184.216.34", "169.254.169.254"],
        }[host],
    )
    items = read_all(
        WebSource(
            [
                "http://intranet.example/wiki",
                "http://meta.example/latest",
                "http://192.168.1.1/",
                "http://[fe80::1]/",
                "http://100.64.0.1/",
            ],
            fetcher=fetcher,
        ),
        settings,
    )
    assert [i.reason for i in items] == ["blocked_url"] * 5
    assert "intranet.example resolves to 10.1.2.3, a private network address" in items[0].detail
    assert "169.254.169.254, a link-local address" in items[1].detail  # every address is checked, not the first


def test_refusals_are_recorded_and_the_run_is_failed(server: LocalServer, home: Path) -> None:
    server.route("/secret", Reply(article()))
    settings = load_settings(home=home)
    urls = spellings(server)[:3]
    summary = ReffyService(settings).ingest(urls)  # the real resolver and the default client
    assert (summary.status, summary.errors, summary.new) == ("failed", 3, 0)
    rows = query(home, "SELECT origin, reason, detail FROM ingest_errors ORDER BY id")
    assert [(o, r) for o, r, _ in rows] == [(u, "blocked_url") for u in urls]
    assert server.requests == []


def test_allowing_private_urls_reaches_the_local_server(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/story", Reply(article()))
    settings = settings_for(tmp_path, allow_private_urls=True)
    [record] = read_all(WebSource([url], fetcher=make_fetcher(settings)), settings)
    assert isinstance(record, RawRecord) and server.hits["/story"] == 1


def test_a_redirect_to_a_private_address_is_refused_before_it_is_requested(server: LocalServer, tmp_path: Path) -> None:
    secret = server.route("/secret", Reply(article("Internal admin console")))
    start = server.route_as("http://stories.example/start", Reply("", status=302, headers={"Location": secret}))
    named = server.route_as(
        "http://stories.example/named", Reply("", status=301, headers={"Location": "http://intranet.example/x"})
    )
    settings = settings_for(tmp_path)
    items = read_all(WebSource([start, named], fetcher=proxy_fetcher(settings, server, DNS)), settings)
    assert [(i.origin, i.reason) for i in items] == [(start, "blocked_url"), (named, "blocked_url")]
    assert f"{start} redirects to {secret}" in items[0].detail
    assert "intranet.example resolves to 10.1.2.3" in items[1].detail
    assert server.hits == {start: 1, named: 1}  # the hops were never requested
    assert server.hits["/secret"] == 0


def test_redirects_are_followed_hop_by_hop_up_to_a_limit(server: LocalServer, tmp_path: Path) -> None:
    final = server.route_as("http://www.stories.example/final", Reply(article()))
    hop = server.route_as("http://stories.example/hop", Reply("", status=307, headers={"Location": "/final-ish"}))
    server.route_as("http://stories.example/final-ish", Reply("", status=308, headers={"Location": final}))
    loop = server.route_as("http://stories.example/loop", Reply("", status=302, headers={"Location": "/loop"}))
    settings = settings_for(tmp_path)
    record, problem = read_all(WebSource([hop, loop], fetcher=proxy_fetcher(settings, server, DNS)), settings)
    assert isinstance(record, RawRecord) and record.source_uri == final and record.meta["fetched_from"] == final
    assert problem.reason == "fetch_failed" and f"more than {MAX_REDIRECTS} times" in problem.detail
    assert server.hits[loop] == MAX_REDIRECTS + 1


def test_feed_links_to_private_addresses_are_not_followed(server: LocalServer, tmp_path: Path) -> None:
    server.route("/page", Reply(article("Internal page")))
    local = server.url("/page")
    port = local.rsplit(":", 1)[1].split("/")[0]
    entries = "".join(
        f"<item><guid>g{i}</guid><title>Entry {i}</title><link>{link}</link><description>{summary}</description></item>"
        for i, (link, summary) in enumerate(
            [
                (local, "A teaser."),
                (f"http://[::1]:{port}/page", ""),
                ("http://intranet.example/page", "Another teaser."),
            ]
        )
    )
    feed = server.route_as(
        "http://stories.example/feed",
        Reply(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>{entries}</channel></rss>',
            content_type="application/rss+xml",
        ),
    )
    settings = settings_for(tmp_path, feed_min_chars=200)
    items = read_all(FeedSource(feed, fetcher=proxy_fetcher(settings, server, DNS)), settings)
    kinds = [(type(i).__name__, i.source_record_id, getattr(i, "reason", None)) for i in items]
    assert kinds == [
        ("Problem", "g0", "blocked_url"),
        ("RawRecord", "g0", None),
        ("Problem", "g1", "blocked_url"),
        ("Problem", "g2", "blocked_url"),
        ("RawRecord", "g2", None),
    ]
    assert items[0].severity == "warning" and "summary only" in items[0].detail  # the teaser is kept
    assert items[2].severity == "error"  # nothing to keep
    assert server.hits["/page"] == 0 and list(server.hits) == [feed]


def test_dns_rebinding_is_refused_when_connecting(server: LocalServer, tmp_path: Path, monkeypatch) -> None:
    """The first answer (checked before the request) is public, the second (when connecting)
    is 127.0.0.1: the default client connects only to addresses it has checked itself."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    server.route("/x", Reply(article()))
    port = int(server.url("").rsplit(":", 1)[1])
    answers = iter([["93.184.216.36"], ["127.0.0.1"]])
    settings = settings_for(tmp_path)
    fetcher = Fetcher(settings, resolver=lambda host, p: next(answers))
    [problem] = read_all(WebSource([f"http://rebind.example:{port}/x"], fetcher=fetcher), settings)
    assert problem.reason == "blocked_url" and "127.0.0.1, a loopback address" in problem.detail
    assert server.requests == []


def test_login_walls_and_short_pages_are_problems_not_stories(server: LocalServer, tmp_path: Path) -> None:
    login = (
        "<html><head><title>Sign in | Example CRM</title></head><body><h1>Sign in</h1><form><input name=user>"
        "<input type='password' name=pw><button>Log in</button></form><p>Forgot your password?</p></body></html>"
    )
    titled = (
        "<html><head><title>Log in to continue</title></head><body><main><p>Please log in with your company "
        "account to read this customer story. Access is limited to employees and partners.</p></main></body></html>"
    )
    short = "<html><head><title>Stories</title></head><body><article><p>See all our customer stories.</p></article></body></html>"
    urls = [
        server.route("/login", Reply(login)),
        server.route("/titled", Reply(titled)),
        server.route("/short", Reply(short)),
        server.route("/story", Reply(article())),
    ]
    settings = settings_for(tmp_path, allow_private_urls=True)
    items = read_all(WebSource(urls, fetcher=make_fetcher(settings)), settings)
    assert [getattr(i, "reason", "story") for i in items] == ["login_wall", "login_wall", "too_short", "story"]
    assert "sign-in form" in items[0].detail and "password field" in items[0].detail
    assert "'Log in to continue'" in items[1].detail
    assert "REFFY_MIN_STORY_CHARS" in items[2].detail and "minimum 400" in items[2].detail


class _Scorer(Scorer):
    """Every story gets full points: only shareability is under test."""

    scorer_key, prompt_version, concurrency = "llm:test", "t1", 1

    def score(self, story, criteria, want_metadata):
        from reffy.models import CriterionScore, ScoreResult

        crit = [CriterionScore(c.id, c.points, c.points, "evidence", "fixed") for c in criteria]
        return ScoreResult(story.story_id, "llm", "test", "t1", crit)

    def estimate(self, story, criteria):
        return 0, 0.0


def test_pages_are_public_only_when_their_final_host_is_a_listed_domain(server: LocalServer, home: Path) -> None:
    from ingest.gold import build_gold
    from ingest.silver import score_library
    from reffy.rubric import load_rubric, load_taxonomy

    listed = server.route_as("http://www.stories.example/a", Reply(article("Story A", 1)))
    away = server.route_as(
        "http://stories.example/moved", Reply("", status=301, headers={"Location": "http://elsewhere.example/b"})
    )
    server.route_as("http://elsewhere.example/b", Reply(article("Story B", 2)))
    back = server.route_as(
        "http://elsewhere.example/go", Reply("", status=302, headers={"Location": "http://stories.example/c"})
    )
    server.route_as("http://stories.example/c", Reply(article("Story C", 3)))
    declared = server.route_as("http://elsewhere.example/d", Reply(article("Story D", 4)))
    settings = load_settings(home=home, public_domains="stories.example", http_retries=0)
    svc = ReffyService(settings)
    first = svc.ingest(
        [listed, away, back], sources=[WebSource([listed, away, back], fetcher=proxy_fetcher(settings, server, DNS))]
    )
    assert (first.new, first.errors) == (3, 0)
    svc.ingest(
        [declared],
        sources=[WebSource([declared], fetcher=proxy_fetcher(settings, server, DNS))],
        extra_meta={"shareability": "public"},
    )  # like `reffy ingest URL --meta shareability=public`
    rubric = load_rubric()
    score_library(settings, _Scorer(), rubric)
    build_gold(settings, rubric, load_taxonomy(), scorer_key="llm:test", prompt_version="t1")
    rows = dict(query(home, "SELECT source_uri, shareability || ': ' || shareability_reason FROM gold_stories"))
    assert rows == {
        listed: "public: published web source on stories.example (a public domain)",  # a subdomain
        "http://elsewhere.example/b": "internal: web source from elsewhere.example, not a public domain "
        "(REFFY_PUBLIC_DOMAINS)",  # redirected away from the listed domain
        "http://stories.example/c": "public: published web source on stories.example (a public domain)",
        declared: "public: source metadata",  # explicit metadata wins
    }
    unlisted = load_settings(home=home)  # nothing listed: nothing fetched from the web is public unless declared
    build_gold(unlisted, rubric, load_taxonomy(), scorer_key="llm:test", prompt_version="t1")
    shares = dict(query(home, "SELECT source_uri, shareability FROM gold_stories"))
    assert shares == {
        listed: "internal",
        "http://elsewhere.example/b": "internal",
        "http://stories.example/c": "internal",
        declared: "public",
    }
