"""YouTube videos and playlists: the transcript is the story text.

Transcripts come from ``youtube_transcript_api``; titles, channels and playlist contents
from ``yt_dlp`` (metadata only, nothing is downloaded). Both clients are injectable so tests
work at the client boundary. The failure modes a user must tell apart get distinct reasons:
``no_captions`` (fix: ingest a transcript file), ``blocked`` (fix: retry later / proxy) and
``not_found`` (the video is gone).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, urlsplit

import requests
import youtube_transcript_api as yta

from ingest.sources.base import ExtractionError, ReadContext, describe_failure
from reffy.errors import SourceNotFound
from reffy.models import Gone, Problem, RawRecord, SourceItem

PARAGRAPH_S = 30.0  # start a new paragraph at least this often...
SENTENCE_BREAK_S = 12.0  # ...or at a sentence end once a paragraph is this long
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_NOISE = re.compile(r"^\[[^\]]*\]$")  # [Music], [Applause]
_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*$")
_HOSTS = {"youtube.com", "youtube-nocookie.com", "youtu.be"}
_VIDEO_PATHS = {"shorts", "embed", "live", "v", "e"}
_MIX_PREFIXES = ("RD", "UL")  # auto-generated mixes: endless, so a v= next to them wins
_INFO_OPTIONS = {
    "quiet": True,
    "no_warnings": True,
    "skip_download": True,
    "extract_flat": "in_playlist",
    "ignore_no_formats_error": True,
}

NO_CAPTIONS = "the video has no captions; download a transcript file (.vtt/.srt) and ingest that instead"
BLOCKED = "YouTube is blocking requests from this IP; retry later, use a proxy, or ingest a transcript file"
_ERRORS: list[tuple[tuple[type[Exception], ...], str, str]] = [
    ((yta.TranscriptsDisabled, yta.NoTranscriptFound), "no_captions", NO_CAPTIONS),
    ((yta.RequestBlocked,), "blocked", BLOCKED),  # IpBlocked is a RequestBlocked
    (
        (yta.VideoUnavailable, yta.InvalidVideoId),
        "not_found",
        "the video is unavailable (deleted or private); remove it from your list",
    ),
    (
        (yta.AgeRestricted,),
        "unsupported",
        "the video is age-restricted and needs sign-in; ingest a transcript file instead",
    ),
    (
        (yta.VideoUnplayable,),
        "unsupported",
        "the video cannot be played here (members-only, private or region-locked); ingest a transcript file instead",
    ),
]


class TranscriptClient(Protocol):
    def list(self, video_id: str) -> Any: ...


class InfoExtractor(Protocol):
    def extract_info(self, url: str, download: bool = ...) -> Any: ...


@dataclass(frozen=True, slots=True)
class YouTubeRef:
    kind: Literal["video", "playlist"]
    id: str

    @property
    def url(self) -> str:
        return watch_url(self.id) if self.kind == "video" else f"https://www.youtube.com/playlist?list={self.id}"


def watch_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def parse_youtube_url(url: str) -> YouTubeRef:
    """Video (watch?v=, youtu.be/, shorts/, embed/, live/) or playlist (``list=``). Raises ValueError."""
    url = url.strip()
    parts = urlsplit(url if "://" in url else f"https://{url}")
    host = re.sub(r"^(www|m|music)\.", "", (parts.hostname or "").lower())
    if host not in _HOSTS:
        raise ValueError(f"{url} is not a YouTube URL")
    query = parse_qs(parts.query)
    segments = [s for s in parts.path.split("/") if s]
    video: str | None = None
    if host == "youtu.be":
        video = segments[0] if segments else None
    elif segments[:1] == ["watch"]:
        video = query.get("v", [None])[0]
    elif len(segments) >= 2 and segments[0] in _VIDEO_PATHS:
        video = segments[1]
    playlist = query.get("list", [None])[0]
    video = video if video and _VIDEO_ID.match(video) else None
    if playlist and re.fullmatch(r"[A-Za-z0-9_-]+", playlist) and not (video and playlist.startswith(_MIX_PREFIXES)):
        return YouTubeRef("playlist", playlist)
    if video:
        return YouTubeRef("video", video)
    raise ValueError(f"{url} is not a YouTube video or playlist URL")


def is_youtube_url(url: str) -> bool:
    try:
        parse_youtube_url(url)
    except ValueError:
        return False
    return True


def transcript_paragraphs(snippets: Iterable[Any]) -> str:
    """Caption snippets joined into paragraphs: a break every ~30 s, earlier at a sentence end."""
    paragraphs: list[str] = []
    current: list[str] = []
    start = 0.0
    for snippet in snippets:
        text = " ".join(snippet.text.split())
        if not text or _NOISE.match(text):
            continue
        if not current:
            start = snippet.start
        current.append(text)
        elapsed = snippet.start + snippet.duration - start
        if elapsed >= PARAGRAPH_S or (elapsed >= SENTENCE_BREAK_S and _SENTENCE_END.search(text)):
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n".join(paragraphs)


def fetch_transcript(client: TranscriptClient, video_id: str, languages: Sequence[str]) -> Any:
    """The best transcript: a preferred language (manual before generated), else any.

    Raises ExtractionError with ``no_captions``, ``blocked``, ``not_found``, ``unsupported``
    or ``fetch_failed``.
    """
    try:
        listing = client.list(video_id)
        try:
            transcript = listing.find_transcript(languages)
        except yta.NoTranscriptFound:
            transcript = next(iter(listing), None)
            if transcript is None:
                raise
        return transcript.fetch()
    except (yta.YouTubeTranscriptApiException, requests.RequestException, OSError) as exc:
        for classes, reason, detail in _ERRORS:
            if isinstance(exc, classes):
                raise ExtractionError(reason, detail) from None
        raise ExtractionError(
            "fetch_failed", f"fetching the transcript failed ({type(exc).__name__}); retry later"
        ) from None


class YouTubeSource:
    """One video or one playlist. A playlist's videos share the playlist origin; ``scope`` is
    the playlist URL after a complete listing, None for single videos and failed reads.
    """

    name = "youtube"

    def __init__(
        self,
        url: str,
        transcript_api: TranscriptClient | None = None,
        info_extractor: InfoExtractor | None = None,
        languages: Sequence[str] = ("en",),
    ) -> None:
        try:
            self.ref = parse_youtube_url(url)
        except ValueError as exc:
            raise SourceNotFound(
                f"{exc}; give a youtube.com/watch?v=, youtu.be/, /shorts/ or playlist?list= URL"
            ) from None
        self.url = url
        self.languages = list(languages)
        self._api = transcript_api
        self._info = info_extractor
        self._complete = False

    @property
    def scope(self) -> str | None:
        return self.ref.url if self.ref.kind == "playlist" and self._complete else None

    def read(self, ctx: ReadContext) -> Iterator[SourceItem]:
        api = self._api or yta.YouTubeTranscriptApi()
        info = self._info or _default_info_extractor()
        try:
            if self.ref.kind == "video":
                yield from self._read_video(api, info, self.ref.id)
            else:
                yield from self._read_playlist(api, info)
        finally:
            if info is not self._info and hasattr(info, "close"):
                info.close()

    def _read_video(self, api: TranscriptClient, info: InfoExtractor, video_id: str) -> Iterator[SourceItem]:
        origin = watch_url(video_id)
        try:
            fetched = fetch_transcript(api, video_id, self.languages)
        except ExtractionError as exc:
            yield Problem(origin, exc.reason, f"{origin}: {exc.detail}", source_record_id=video_id)
            if exc.reason == "not_found":
                yield Gone(origin, exc.detail)
            return
        try:
            details = dict(info.extract_info(origin, download=False) or {})
        except Exception as exc:  # yt-dlp raises many types; metadata is optional
            details = {}
            detail = (
                f"{origin}: title and channel lookup failed ({_short(exc)}); ingested with a placeholder "
                "title, re-ingest later"
            )
            yield Problem(origin, "fetch_failed", detail, "warning", video_id)
        yield _record(origin, video_id, fetched, details)

    def _read_playlist(self, api: TranscriptClient, info: InfoExtractor) -> Iterator[SourceItem]:
        origin = self.ref.url
        try:
            listing = dict(info.extract_info(origin, download=False) or {})
            entries = [e for e in listing.get("entries") or [] if e and e.get("id")]
        except Exception as exc:  # yt-dlp raises many types
            gone = "does not exist" in str(exc)
            detail = (
                f"could not list the playlist {origin} ({_short(exc)}); check it exists and is public, or retry later"
            )
            yield Problem(origin, "not_found" if gone else "fetch_failed", detail)
            if gone:
                yield Gone(origin)
            return
        extra = {"playlist": listing.get("title")} if listing.get("title") else {}
        for entry in entries:
            video_id = entry["id"]
            if not isinstance(video_id, str) or not _VIDEO_ID.match(video_id):
                # only ids are used: every request goes to YouTube itself, never to a listed URL
                detail = (
                    f"the playlist {origin} lists an item {str(video_id)[:80]!r} that is not a YouTube "
                    "video id; skipped"
                )
                yield Problem(origin, "parse_error", detail, "warning")
                continue
            try:  # each video in its own error boundary
                fetched = fetch_transcript(api, video_id, self.languages)
            except ExtractionError as exc:
                detail = f"{watch_url(video_id)}: {exc.detail}"
                if exc.reason == "not_found":
                    yield Problem(origin, exc.reason, detail, "warning", video_id)
                else:
                    yield Problem(origin, exc.reason, detail, "error", video_id)
                if exc.reason == "blocked":
                    yield Problem(
                        origin,
                        "blocked",
                        f"stopped reading the playlist {origin} after YouTube blocked a request; retry later",
                    )
                    return
                continue
            except Exception as exc:
                reason, detail = describe_failure(exc, f"the transcript of {watch_url(video_id)}")
                yield Problem(origin, reason, detail, source_record_id=video_id)
                continue
            try:
                record = _record(origin, video_id, fetched, {**entry, **extra})
            except Exception as exc:
                reason, detail = describe_failure(exc, f"the transcript of {watch_url(video_id)}")
                record = Problem(origin, reason, detail, source_record_id=video_id)
            yield record
        self._complete = True


def _record(origin: str, video_id: str, fetched: Any, details: dict[str, Any]) -> RawRecord | Problem:
    text = transcript_paragraphs(fetched)
    if not text:
        detail = (
            f"{watch_url(video_id)}: the captions are empty; download a transcript file (.vtt/.srt) and "
            "ingest that instead"
        )
        return Problem(origin, "no_captions", detail, source_record_id=video_id)
    upload = str(details.get("upload_date") or "")
    meta: dict[str, Any] = {
        "url": watch_url(video_id),
        "video_id": video_id,
        "channel": details.get("channel") or details.get("uploader"),
        "duration": int(details["duration"]) if details.get("duration") else None,
        "published": f"{upload[:4]}-{upload[4:6]}-{upload[6:8]}" if re.fullmatch(r"\d{8}", upload) else None,
        "tags": list(details.get("tags") or []),
        "playlist": details.get("playlist"),
        "language": getattr(fetched, "language_code", None),
        "captions": "auto-generated" if getattr(fetched, "is_generated", False) else "manual",
    }
    return RawRecord(
        origin=origin,
        source_uri=watch_url(video_id),
        source_type="youtube",
        title=str(details.get("title") or f"YouTube video {video_id}"),
        text=text,
        source_record_id=video_id,
        meta={k: v for k, v in meta.items() if v},
    )


def _default_info_extractor() -> InfoExtractor:
    import yt_dlp

    return yt_dlp.YoutubeDL({**_INFO_OPTIONS, "logger": logging.getLogger(__name__)})


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split()).removeprefix("ERROR: ")
    return text[:200] or type(exc).__name__


__all__ = [
    "YouTubeRef",
    "YouTubeSource",
    "fetch_transcript",
    "is_youtube_url",
    "parse_youtube_url",
    "transcript_paragraphs",
    "watch_url",
]
