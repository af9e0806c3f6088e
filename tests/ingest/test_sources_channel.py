"""YouTube channels: URL parsing, the title/description filter, and ChannelSource over the local
listing implementation (yt-dlp cannot be pointed at a local server) with the transcript client
faked at its boundary, as the YouTube tests do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from httpserver import read_all
from test_sources_youtube import TALK, FakeTranscript, FakeTranscriptApi

from ingest import registry
from ingest.sources.channel import (
    ChannelListing,
    ChannelSource,
    ChannelVideo,
    StaticChannelLister,
    YtDlpChannelLister,
    compile_match,
    matches,
    parse_channel_url,
)
from ingest.sources.youtube import watch_url
from reffy.config import load_settings
from reffy.errors import ConfigError
from reffy.models import Gone, Problem, RawRecord, Unchanged

CHANNEL = "https://www.youtube.com/@quillon"
V1, V2, V3, V4 = "aaaaaaaaaa1", "bbbbbbbbbb2", "cccccccccc3", "dddddddddd4"


@pytest.mark.parametrize(
    ("url", "kind", "ident", "canonical"),
    [
        ("https://www.youtube.com/@quillon", "handle", "@quillon", "https://www.youtube.com/@quillon"),
        ("https://youtube.com/@quillon/videos", "handle", "@quillon", "https://www.youtube.com/@quillon"),
        ("m.youtube.com/@Quillon.Talks", "handle", "@Quillon.Talks", "https://www.youtube.com/@Quillon.Talks"),
        (
            "https://www.youtube.com/channel/UC1234567890abcdefghijkl",
            "channel",
            "UC1234567890abcdefghijkl",
            "https://www.youtube.com/channel/UC1234567890abcdefghijkl",
        ),
        ("https://www.youtube.com/c/QuillonHQ/featured", "c", "QuillonHQ", "https://www.youtube.com/c/QuillonHQ"),
        ("https://www.youtube.com/user/quillon", "user", "quillon", "https://www.youtube.com/user/quillon"),
    ],
)
def test_channel_urls(url: str, kind: str, ident: str, canonical: str) -> None:
    ref = parse_channel_url(url)
    assert (ref.kind, ref.id, ref.url) == (kind, ident, canonical)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",  # a video
        "https://www.youtube.com/playlist?list=PL590L5WQmH8fJ54F369BLDSqIwcs-TCfs",
        "https://www.youtube.com/channel/not-an-id",
        "https://www.youtube.com/@x",  # too short for a handle
        "https://www.youtube.com/@quillon/watch",  # not a channel tab
        "https://vimeo.com/@quillon",
        "https://www.youtube.com/",
    ],
)
def test_not_channel_urls(url: str) -> None:
    with pytest.raises(ValueError):
        parse_channel_url(url)


def test_classify_tells_channels_from_videos_and_playlists() -> None:
    assert registry.classify("https://www.youtube.com/@quillon/videos") == ("channel", CHANNEL)
    assert registry.classify("https://youtu.be/dQw4w9WgXcQ")[0] == "youtube"
    assert registry.classify("https://www.youtube.com/playlist?list=PLabc")[0] == "youtube"


def test_title_and_description_filter() -> None:
    pattern = compile_match(r"customer|case stud(y|ies)")
    assert matches(ChannelVideo(V1, "Customer story: Nordvik Bank"), pattern)
    assert matches(ChannelVideo(V2, "Nordvik at Summit", "A case study in call handling"), pattern)
    assert not matches(ChannelVideo(V3, "Product update 4.2", "New buttons"), pattern)
    assert matches(ChannelVideo(V3, "anything"), None)
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        compile_match("customer(")


def listing(*videos: ChannelVideo) -> ChannelListing:
    return ChannelListing("Quillon", list(videos))


def transcripts(*ids: str) -> FakeTranscriptApi:
    return FakeTranscriptApi({i: [FakeTranscript(i, "en", TALK)] for i in ids})


def test_channel_source_filters_reads_once_and_removes_what_left(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    talks = [
        ChannelVideo(V1, "Customer story: Nordvik Bank", "How Nordvik cut call time", {"duration": 600}),
        ChannelVideo(V2, "Release notes 4.2", "What is new"),
        ChannelVideo(V3, "Initech on moving to the cloud", "A customer talk from Summit"),
    ]
    lister = StaticChannelLister({CHANNEL: listing(*talks)})
    api = transcripts(V1, V2, V3, V4)
    source = ChannelSource(CHANNEL, match="customer", lister=lister, transcript_api=api)
    items = read_all(source, settings)
    records = [i for i in items if isinstance(i, RawRecord)]
    assert [r.origin for r in records] == [watch_url(V1), watch_url(V3)]
    assert records[0].title == "Customer story: Nordvik Bank" and records[0].meta["channel"] == "Quillon"
    assert records[0].meta["duration"] == 600 and records[0].source_record_id == V1
    assert api.calls == [V1, V3] and source.complete

    # the next sync: V1 is unchanged (no transcript fetched again), V3 was taken down, V4 is new
    lister.listings[CHANNEL] = listing(talks[0], talks[1], ChannelVideo(V4, "Customer story: Acme"))
    api.calls.clear()
    again = ChannelSource(CHANNEL, known=source.state, match="customer", lister=lister, transcript_api=api)
    items = read_all(again, settings)
    assert [i.origin for i in items if isinstance(i, Unchanged)] == [watch_url(V1)]
    assert [i.origin for i in items if isinstance(i, RawRecord)] == [watch_url(V4)]
    assert [i.origin for i in items if isinstance(i, Gone)] == [watch_url(V3)]
    assert api.calls == [V4]


def test_a_channel_that_cannot_be_listed_removes_nothing(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    known = {watch_url(V1): registry.ItemState(watch_url(V1), ok=True)}
    lister = StaticChannelLister({CHANNEL: RuntimeError("HTTP Error 429: Too Many Requests")})
    source = ChannelSource(CHANNEL, known=known, lister=lister, transcript_api=transcripts())
    [problem] = read_all(source, settings)
    assert isinstance(problem, Problem) and problem.reason == "fetch_failed" and "429" in problem.detail
    assert "nothing was removed" in problem.detail and not source.complete
    missing = ChannelSource("https://www.youtube.com/@nobody1", lister=lister, transcript_api=transcripts())
    assert [p.reason for p in read_all(missing, settings)] == ["not_found"]


class FakeYoutubeDL:
    """yt-dlp's ``extract_info`` answer for a channel's /videos tab (nested like a real one)."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.urls: list[str] = []

    def extract_info(self, url: str, download: bool = True) -> dict[str, Any]:
        assert download is False
        self.urls.append(url)
        return self.answer


def test_ytdlp_lister_flattens_the_channel_listing() -> None:
    ydl = FakeYoutubeDL(
        {
            "channel": "Quillon",
            "entries": [
                {"_type": "playlist", "entries": [{"id": V1, "title": "Customer story", "description": "d1"}]},
                {"id": V2, "title": "Release notes", "duration": 61.0},
                None,
            ],
        }
    )
    found = YtDlpChannelLister(ydl).list_videos(CHANNEL)
    assert ydl.urls == [CHANNEL + "/videos"]
    assert found.title == "Quillon"
    assert [(v.id, v.title, v.description) for v in found.videos] == [
        (V1, "Customer story", "d1"),
        (V2, "Release notes", ""),
    ]
    assert found.videos[1].meta == {"duration": 61.0}
