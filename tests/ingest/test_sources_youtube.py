"""YouTubeSource at the client boundary: fake clients, real youtube_transcript_api exceptions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import youtube_transcript_api as yta
from httpserver import read_all
from yt_dlp.utils import DownloadError

from ingest.sources.youtube import YouTubeRef, YouTubeSource, parse_youtube_url, transcript_paragraphs
from reffy.config import Settings, load_settings
from reffy.errors import SourceNotFound
from reffy.models import Gone, Problem, RawRecord

VID, VID2, VID3 = "dQw4w9WgXcQ", "abcdefghijk", "ABCDEFGHIJK"
PLAYLIST = "PL590L5WQmH8fJ54F369BLDSqIwcs-TCfs"


def snippets(*lines: tuple[float, str], duration: float = 4.0) -> list[yta.FetchedTranscriptSnippet]:
    return [yta.FetchedTranscriptSnippet(text=t, start=s, duration=duration) for s, t in lines]


class FakeTranscript:
    """Has what YouTubeSource uses of youtube_transcript_api.Transcript."""

    def __init__(self, video_id: str, code: str, parts: list[yta.FetchedTranscriptSnippet], generated: bool = False):
        self.video_id, self.language_code, self.is_generated, self.parts = video_id, code, generated, parts
        self.language = code

    def fetch(self, preserve_formatting: bool = False) -> yta.FetchedTranscript:
        return yta.FetchedTranscript(self.parts, self.video_id, self.language, self.language_code, self.is_generated)


class FakeTranscriptApi:
    """Same ``list`` method as YouTubeTranscriptApi; returns the library's real TranscriptList."""

    def __init__(self, videos: dict[str, list[FakeTranscript] | Exception]) -> None:
        self.videos = videos
        self.calls: list[str] = []

    def list(self, video_id: str) -> yta.TranscriptList:
        self.calls.append(video_id)
        found = self.videos[video_id]
        if isinstance(found, Exception):
            raise found
        manual = {t.language_code: t for t in found if not t.is_generated}
        generated = {t.language_code: t for t in found if t.is_generated}
        return yta.TranscriptList(video_id, manual, generated, [])  # type: ignore[arg-type]


class FakeInfo:
    """Same ``extract_info`` method as yt_dlp.YoutubeDL."""

    def __init__(self, answers: dict[str, dict[str, Any] | Exception]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def extract_info(self, url: str, download: bool = True) -> dict[str, Any]:
        assert download is False
        self.calls.append(url)
        answer = self.answers[url]
        if isinstance(answer, Exception):
            raise answer
        return answer


TALK = snippets(
    (0.0, "[Music]"),
    (1.0, "Welcome to this customer story."),
    (5.0, "Today we talk with Initech about"),
    (9.0, "their move to the cloud."),
    (14.0, "It took six weeks."),
    (18.0, "and then we kept going without any"),
    (22.0, "pause at all because the team"),
    (26.0, "was excited and the results"),
    (30.0, "came in very quickly"),
    (34.0, "so we"),
    (38.0, "kept"),
    (42.0, "shipping more"),
    (46.0, "Thanks for watching!"),
)
INFO = {
    "id": VID,
    "title": "Initech goes cloud",
    "channel": "Reffy",
    "duration": 38.0,
    "upload_date": "20240305",
    "tags": ["cloud", "case study"],
    "view_count": 12345,
}


def settings_for(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path)


def watch(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


@pytest.mark.parametrize(
    ("url", "ref"),
    [
        (f"https://www.youtube.com/watch?v={VID}", YouTubeRef("video", VID)),
        (f"https://m.youtube.com/watch?feature=share&v={VID}&t=42s", YouTubeRef("video", VID)),
        (f"https://youtu.be/{VID}?si=abc", YouTubeRef("video", VID)),
        (f"youtu.be/{VID}", YouTubeRef("video", VID)),
        (f"https://www.youtube.com/shorts/{VID}", YouTubeRef("video", VID)),
        (f"https://www.youtube.com/embed/{VID}?start=3", YouTubeRef("video", VID)),
        (f"https://www.youtube-nocookie.com/embed/{VID}", YouTubeRef("video", VID)),
        (f"https://www.youtube.com/live/{VID}", YouTubeRef("video", VID)),
        (f"https://music.youtube.com/watch?v={VID}", YouTubeRef("video", VID)),
        (f"https://www.youtube.com/playlist?list={PLAYLIST}", YouTubeRef("playlist", PLAYLIST)),
        (f"https://www.youtube.com/watch?v={VID}&list={PLAYLIST}&index=2", YouTubeRef("playlist", PLAYLIST)),
        (f"https://www.youtube.com/watch?v={VID}&list=RD{VID}", YouTubeRef("video", VID)),  # a mix is not a playlist
    ],
)
def test_parse_youtube_url_shapes(url: str, ref: YouTubeRef) -> None:
    assert parse_youtube_url(url) == ref


@pytest.mark.parametrize(
    "url",
    [
        "https://vimeo.com/12345",
        "https://www.youtube.com/watch?v=short",
        "https://www.youtube.com/@reffy",
        "https://youtu.be/",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_youtube_url(url)
    with pytest.raises(SourceNotFound):
        YouTubeSource(url, transcript_api=FakeTranscriptApi({}), info_extractor=FakeInfo({}))


def test_canonical_urls() -> None:
    assert YouTubeRef("video", VID).url == watch(VID)
    assert YouTubeRef("playlist", PLAYLIST).url == f"https://www.youtube.com/playlist?list={PLAYLIST}"


def test_transcript_paragraphs_break_at_sentences_and_every_30_s() -> None:
    text = transcript_paragraphs(TALK)
    assert text.split("\n") == [
        "Welcome to this customer story. Today we talk with Initech about their move to the cloud.",
        # no sentence end for 30 s: broken anyway
        "It took six weeks. and then we kept going without any pause at all because the team was excited"
        " and the results came in very quickly so we kept shipping more",
        "Thanks for watching!",
    ]
    unpunctuated = snippets(*[(float(s), f"word{s}") for s in range(0, 90, 3)], duration=3.0)
    assert len(transcript_paragraphs(unpunctuated).split("\n")) == 3  # auto captions: one line per ~30 s


def test_video_becomes_a_record(tmp_path: Path) -> None:
    api = FakeTranscriptApi({VID: [FakeTranscript(VID, "en", TALK)]})
    info = FakeInfo({watch(VID): INFO})
    source = YouTubeSource(f"https://youtu.be/{VID}", transcript_api=api, info_extractor=info)
    [record] = read_all(source, settings_for(tmp_path))
    assert isinstance(record, RawRecord)
    assert (record.origin, record.source_uri, record.source_type, record.source_record_id) == (
        watch(VID),
        watch(VID),
        "youtube",
        VID,
    )
    assert record.title == "Initech goes cloud"
    assert record.text == transcript_paragraphs(TALK) and "[Music]" not in record.text
    assert record.meta == {
        "url": watch(VID),
        "video_id": VID,
        "channel": "Reffy",
        "duration": 38,
        "published": "2024-03-05",
        "tags": ["cloud", "case study"],
        "language": "en",
        "captions": "manual",
    }  # no view counts: meta is part of the content hash
    assert source.scope is None
    assert info.calls == [watch(VID)]


def test_falls_back_to_another_language(tmp_path: Path) -> None:
    api = FakeTranscriptApi({VID: [FakeTranscript(VID, "de", snippets((0.0, "Guten Tag.")), generated=True)]})
    source = YouTubeSource(watch(VID), transcript_api=api, info_extractor=FakeInfo({watch(VID): INFO}))
    [record] = read_all(source, settings_for(tmp_path))
    assert record.text == "Guten Tag."
    assert (record.meta["language"], record.meta["captions"]) == ("de", "auto-generated")


@pytest.mark.parametrize(
    ("error", "reason", "hint"),
    [
        (yta.TranscriptsDisabled(VID), "no_captions", "transcript file (.vtt/.srt)"),
        ([], "no_captions", "transcript file (.vtt/.srt)"),  # captions listed, none at all
        (yta.RequestBlocked(VID), "blocked", "use a proxy"),
        (yta.IpBlocked(VID), "blocked", "retry later"),
        (yta.AgeRestricted(VID), "unsupported", "age-restricted"),
        (yta.YouTubeRequestFailed(VID, Exception("HTTP 500")), "fetch_failed", "retry later"),  # type: ignore[arg-type]
    ],
)
def test_transcript_failures_have_distinct_reasons(tmp_path: Path, error: Any, reason: str, hint: str) -> None:
    info = FakeInfo({watch(VID): INFO})
    source = YouTubeSource(watch(VID), transcript_api=FakeTranscriptApi({VID: error}), info_extractor=info)
    [problem] = read_all(source, settings_for(tmp_path))
    assert isinstance(problem, Problem)
    assert (problem.reason, problem.origin, problem.source_record_id) == (reason, watch(VID), VID)
    assert hint in problem.detail
    assert info.calls == []  # no metadata lookups for videos that cannot be ingested


def test_unavailable_video_is_not_found_and_gone(tmp_path: Path) -> None:
    api = FakeTranscriptApi({VID: yta.VideoUnavailable(VID)})
    items = read_all(YouTubeSource(watch(VID), transcript_api=api, info_extractor=FakeInfo({})), settings_for(tmp_path))
    assert [type(i) for i in items] == [Problem, Gone]
    assert items[0].reason == "not_found" and items[1].origin == watch(VID)


def test_metadata_failure_still_ingests_the_transcript(tmp_path: Path) -> None:
    api = FakeTranscriptApi({VID: [FakeTranscript(VID, "en", TALK)]})
    info = FakeInfo({watch(VID): DownloadError("ERROR: [youtube] Sign in to confirm you're not a bot")})
    warning, record = read_all(
        YouTubeSource(watch(VID), transcript_api=api, info_extractor=info), settings_for(tmp_path)
    )
    assert (warning.reason, warning.severity) == ("fetch_failed", "warning")
    assert "not a bot" in warning.detail
    assert isinstance(record, RawRecord) and record.title == f"YouTube video {VID}"
    assert record.text == transcript_paragraphs(TALK)


def playlist_info() -> dict[str, Any]:
    entries = [
        {"id": v, "title": f"Story {n}", "duration": 60 * n, "channel": "Reffy"}
        for n, v in enumerate((VID, VID2, VID3), 1)
    ]
    return {"id": PLAYLIST, "title": "Customer stories", "entries": iter(entries)}  # yt-dlp may give a generator


def test_playlist_ingests_videos_and_reports_the_one_without_captions(tmp_path: Path) -> None:
    playlist_url = f"https://www.youtube.com/playlist?list={PLAYLIST}"
    api = FakeTranscriptApi(
        {
            VID: [FakeTranscript(VID, "en", snippets((0.0, "First story.")))],
            VID2: yta.TranscriptsDisabled(VID2),
            VID3: [FakeTranscript(VID3, "en", snippets((0.0, "Third story.")))],
        }
    )
    info = FakeInfo({playlist_url: playlist_info()})
    source = YouTubeSource(
        f"https://www.youtube.com/watch?v={VID}&list={PLAYLIST}", transcript_api=api, info_extractor=info
    )
    first, problem, third = read_all(source, settings_for(tmp_path))
    assert info.calls == [playlist_url]  # one listing call, no per-video lookups
    assert [first.source_record_id, third.source_record_id] == [VID, VID3]
    assert {first.origin, third.origin, problem.origin} == {playlist_url}
    assert (first.source_uri, first.title, first.text) == (watch(VID), "Story 1", "First story.")
    assert first.meta["playlist"] == "Customer stories" and third.meta["duration"] == 180
    assert (problem.reason, problem.source_record_id) == ("no_captions", VID2)
    assert source.scope == playlist_url


def test_playlist_stops_when_blocked(tmp_path: Path) -> None:
    playlist_url = f"https://www.youtube.com/playlist?list={PLAYLIST}"
    api = FakeTranscriptApi({VID: yta.IpBlocked(VID), VID2: [], VID3: []})
    source = YouTubeSource(playlist_url, transcript_api=api, info_extractor=FakeInfo({playlist_url: playlist_info()}))
    items = read_all(source, settings_for(tmp_path))
    assert [(i.reason, i.source_record_id) for i in items] == [("blocked", VID), ("blocked", None)]
    assert api.calls == [VID]  # no hammering once YouTube blocks us
    assert source.scope is None  # incomplete: nothing may be marked removed


def test_playlist_listing_failure(tmp_path: Path) -> None:
    playlist_url = f"https://www.youtube.com/playlist?list={PLAYLIST}"
    info = FakeInfo({playlist_url: DownloadError("ERROR: [youtube:tab] Unable to download API page: timed out")})
    source = YouTubeSource(playlist_url, transcript_api=FakeTranscriptApi({}), info_extractor=info)
    [problem] = read_all(source, settings_for(tmp_path))
    assert (problem.reason, problem.origin) == ("fetch_failed", playlist_url)
    assert source.scope is None
    gone = FakeInfo({playlist_url: DownloadError("ERROR: [youtube:tab] The playlist does not exist.")})
    items = read_all(
        YouTubeSource(playlist_url, transcript_api=FakeTranscriptApi({}), info_extractor=gone), settings_for(tmp_path)
    )
    assert [type(i) for i in items] == [Problem, Gone] and items[0].reason == "not_found"
