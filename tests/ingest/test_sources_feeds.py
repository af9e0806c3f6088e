"""FeedSource and extract_feed_file against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from httpserver import LocalServer, Reply, make_fetcher, read_all, serve

from ingest.sources.base import ExtractionError, FileInput
from ingest.sources.feeds import FeedSource, extract_feed_file
from reffy.config import Settings, load_settings
from reffy.models import Gone, Problem, RawRecord, Unchanged

LONG = (
    "<p>Globex rebuilt its claims pipeline on Reffy and cut processing time from nine days to two.</p>"
    "<p>The insurer now settles most water-damage claims before the adjuster visit.</p>"
    "<ul><li>78% fewer manual reviews</li><li>3x faster payouts</li></ul>"
)


def rss(items: str) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Customer stories</title><link>https://stories.example/</link>{items}</channel></rss>"""


RSS_FULL = rss(f"""
<item><title>Globex claims</title><link>https://stories.example/globex</link><guid isPermaLink="false">story-1</guid>
  <dc:creator>Dana Lee</dc:creator><pubDate>Tue, 05 Mar 2024 10:30:00 GMT</pubDate>
  <category>Insurance</category><category>Automation</category>
  <description>Short teaser.</description><content:encoded><![CDATA[{LONG}]]></content:encoded></item>
<item><title>Initech rollout</title><link>https://stories.example/initech</link><guid isPermaLink="false">story-2</guid>
  <description><![CDATA[{LONG.replace("Globex", "Initech")}]]></description></item>""")


def page(title: str, sentences: list[str]) -> str:
    body = "".join(f"<p>{s}</p>" for s in sentences)
    return f"<html><head><title>{title}</title></head><body><nav><a href='/'>Home</a> <a href='/jobs'>Jobs</a></nav><article><h1>{title}</h1>{body}</article><footer>Copyright Example</footer></body></html>"


PAGE_A = [
    "Umbrella Retail replaced seven regional search tools with one Reffy index.",
    "Store managers now find the right supplier contract in seconds instead of hours.",
    "The rollout reached 1,200 stores in a single quarter without downtime.",
]


def atom(entries: str) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Umbrella news</title><id>urn:feed</id><updated>2024-05-01T00:00:00Z</updated>{entries}</feed>"""


def atom_entry(eid: str, title: str, href: str, summary: str = "") -> str:
    summary_xml = f"<summary>{summary}</summary>" if summary else ""
    return f"""<entry><id>{eid}</id><title>{title}</title><link href="{href}"/>
    <updated>2024-04-02T08:00:00Z</updated><author><name>Sam Ortiz</name></author>{summary_xml}</entry>"""


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    """The local test server is on 127.0.0.1: private addresses allowed; pages here are short."""
    return load_settings(
        home=tmp_path,
        **{
            "http_retries": 0,
            "http_timeout_s": 2.0,
            "feed_min_chars": 120,
            "allow_private_urls": True,
            "min_story_chars": 100,
            **overrides,
        },
    )


@pytest.fixture
def server() -> LocalServer:
    with serve() as s:
        yield s


def test_rss_with_full_content_uses_the_feed_text(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/rss.xml", Reply(RSS_FULL, content_type="application/rss+xml"))
    settings = settings_for(tmp_path)
    source = FeedSource(url, fetcher=make_fetcher(settings))
    first, second = read_all(source, settings)
    assert isinstance(first, RawRecord) and isinstance(second, RawRecord)
    assert (first.origin, first.source_uri, first.source_type) == (url, "https://stories.example/globex", "feed")
    assert [first.source_record_id, second.source_record_id] == ["story-1", "story-2"]
    assert first.title == "Globex claims"
    assert first.text.splitlines() == [
        "Globex rebuilt its claims pipeline on Reffy and cut processing time from nine days to two.",
        "The insurer now settles most water-damage claims before the adjuster visit.",
        "- 78% fewer manual reviews",
        "- 3x faster payouts",
    ]
    assert first.meta == {
        "author": "Dana Lee",
        "published": "2024-03-05T10:30:00+00:00",
        "tags": ["Insurance", "Automation"],
        "feed_title": "Customer stories",
        "link": "https://stories.example/globex",
        "fetched_from": url,  # where the text came from: decides whether it may be public
    }
    assert "Initech rebuilt" in second.text
    assert list(server.hits) == ["/rss.xml"]  # nothing followed: the entries were long enough
    assert source.scope == url


def test_atom_short_entries_are_followed_to_their_pages(server: LocalServer, tmp_path: Path) -> None:
    server.route("/posts/a", Reply(page("Umbrella Retail", PAGE_A)))
    server.route("/posts/c", Reply("gone", status=404))
    server.route("/posts/d", Reply("gone", status=404))
    feed = atom(
        atom_entry("urn:a", "Umbrella Retail", "/posts/a", "Umbrella found contracts faster.")
        + atom_entry("urn:c", "Teaser only", "/posts/c", "A teaser whose page vanished.")
        + atom_entry("urn:d", "Nothing at all", "/posts/d")
    )
    url = server.route("/atom.xml", Reply(feed, content_type="application/atom+xml"))
    settings = settings_for(tmp_path)
    items = read_all(FeedSource(url, fetcher=make_fetcher(settings)), settings)
    assert [(type(i).__name__, i.source_record_id) for i in items] == [
        ("RawRecord", "urn:a"),
        ("Problem", "urn:c"),
        ("RawRecord", "urn:c"),
        ("Problem", "urn:d"),
    ]
    followed, warning, teaser, failure = items
    assert followed.text.splitlines()[-3:] == PAGE_A  # the page's article, not the summary
    assert "Jobs" not in followed.text and "Copyright" not in followed.text
    assert followed.source_uri == server.url("/posts/a")  # relative link resolved against the feed
    assert followed.meta["url"] == server.url("/posts/a")
    assert followed.meta["author"] == "Sam Ortiz" and followed.meta["feed_title"] == "Umbrella news"
    assert (warning.reason, warning.severity) == ("not_found", "warning")
    assert "summary only" in warning.detail
    assert teaser.text == "A teaser whose page vanished."
    assert (failure.reason, failure.severity) == ("not_found", "error")
    assert not any(isinstance(i, Gone) for i in items)  # an entry's page is not the feed origin
    assert server.hits["/posts/a"] == 1


def test_malformed_feed_with_entries_warns_and_is_not_complete(server: LocalServer, tmp_path: Path) -> None:
    broken = rss(f"<item><title>Tom & Jerry</title><guid>t1</guid><description><![CDATA[{LONG}]]></description></item>")
    url = server.route("/broken.xml", Reply(broken, content_type="application/rss+xml"))
    settings = settings_for(tmp_path)
    source = FeedSource(url, fetcher=make_fetcher(settings))
    warning, record = read_all(source, settings)
    assert isinstance(warning, Problem) and (warning.reason, warning.severity) == ("parse_error", "warning")
    assert isinstance(record, RawRecord) and "Globex" in record.text
    assert source.scope is None  # entries may be missing: removals must not be inferred


@pytest.mark.parametrize(
    "body", ["this is not a feed {", "<html><body><p>A blog home page</p></body></html>"], ids=["garbage", "html"]
)
def test_unparseable_feed_is_a_parse_error(server: LocalServer, tmp_path: Path, body: str) -> None:
    url = server.route("/feed", Reply(body, content_type="application/xml"))
    settings = settings_for(tmp_path)
    source = FeedSource(url, fetcher=make_fetcher(settings))
    [problem] = read_all(source, settings)
    assert isinstance(problem, Problem) and problem.reason == "parse_error" and problem.origin == url
    assert source.scope is None


def test_empty_feed_removes_nothing(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/feed", Reply(rss(""), content_type="application/rss+xml"))
    settings = settings_for(tmp_path)
    source = FeedSource(url, fetcher=make_fetcher(settings))
    [problem] = read_all(source, settings)
    assert (problem.reason, problem.severity) == ("empty", "warning")
    assert source.scope is None


def test_missing_feed_is_not_found_and_gone(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/old-feed", Reply("", status=410))
    settings = settings_for(tmp_path)
    source = FeedSource(url, fetcher=make_fetcher(settings))
    items = read_all(source, settings)
    assert [type(i) for i in items] == [Problem, Gone]
    assert items[0].reason == "not_found" and items[1].origin == url
    assert source.scope is None


def test_feed_not_modified_is_unchanged(server: LocalServer, tmp_path: Path) -> None:
    url = server.route(
        "/rss.xml", Reply(RSS_FULL, headers={"Last-Modified": "Tue, 05 Mar 2024 10:30:00 GMT"}), Reply("", status=304)
    )
    settings = settings_for(tmp_path)
    records = read_all(FeedSource(url, fetcher=make_fetcher(settings)), settings)
    assert {r.origin_fingerprint for r in records} == {"last-modified:Tue, 05 Mar 2024 10:30:00 GMT"}
    items = read_all(FeedSource(url, fetcher=make_fetcher(settings)), settings, {url: records[0].origin_fingerprint})
    assert items == [Unchanged(url)]
    assert server.requests[1][1]["if-modified-since"] == "Tue, 05 Mar 2024 10:30:00 GMT"


def test_duplicate_entry_ids_keep_the_first(server: LocalServer, tmp_path: Path) -> None:
    item = f"<item><title>Same</title><guid>dup</guid><description><![CDATA[{LONG}]]></description></item>"
    url = server.route("/rss.xml", Reply(rss(item + item.replace("Same", "Again")), content_type="application/rss+xml"))
    settings = settings_for(tmp_path)
    warning, record = read_all(FeedSource(url, fetcher=make_fetcher(settings)), settings)
    assert isinstance(record, RawRecord) and record.title == "Same"
    assert (warning.reason, warning.severity, warning.source_record_id) == ("parse_error", "warning", "dup")


def test_local_feed_path(tmp_path: Path) -> None:
    path = tmp_path / "stories.rss"
    path.write_text(RSS_FULL, encoding="utf-8")
    settings = settings_for(tmp_path)
    source = FeedSource(str(path), fetcher=make_fetcher(settings))
    records = read_all(source, settings)
    assert [r.origin for r in records] == [str(path.resolve())] * 2
    assert source.scope == str(path.resolve())
    missing = FeedSource(str(tmp_path / "nope.rss"), fetcher=make_fetcher(settings))
    assert [type(i) for i in read_all(missing, settings)] == [Problem, Gone]


def test_extract_feed_file_reads_entries_without_network(tmp_path: Path) -> None:
    short = rss(
        "<item><title>Teaser</title><link>https://stories.example/t</link><guid>t</guid><description>Only a teaser.</description></item>"
    )
    data = RSS_FULL.replace("</channel>", short[short.index("<item>") : short.index("</channel>")] + "</channel>")
    settings = settings_for(tmp_path)
    out = list(extract_feed_file(FileInput(tmp_path / "stories.rss", data.encode(), settings)))
    assert [(e.source_record_id, e.source_uri, e.source_type) for e in out] == [
        ("story-1", "https://stories.example/globex", "feed"),
        ("story-2", "https://stories.example/initech", "feed"),
        ("t", "https://stories.example/t", "feed"),
    ]
    assert out[2].text == "Only a teaser."  # not followed: files never touch the network
    assert out[0].meta["published"] == "2024-03-05T10:30:00+00:00"
    assert [reason for reason, _ in out[0].warnings] == ["empty"]
    assert "1 entry holds only a short summary" in out[0].warnings[0][1]


def test_extract_feed_file_rejects_garbage(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with pytest.raises(ExtractionError) as err:
        extract_feed_file(FileInput(tmp_path / "x.atom", b"{not: 'a feed'", settings))
    assert err.value.reason == "parse_error"
