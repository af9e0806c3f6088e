"""YouTube channels: the channel's videos, optionally only those whose title or description
match a filter (``--match "customer|case study"``), each video's transcript a story.

Listing goes through a narrow :class:`ChannelLister` interface: :class:`YtDlpChannelLister`
asks yt-dlp for the channel's ``/videos`` tab with flat extraction (ids, titles, descriptions;
nothing is downloaded), :class:`StaticChannelLister` serves listings it is given (tests, and
anyone feeding a listing exported elsewhere). yt-dlp cannot be pointed at a local server, so
the listing step is where tests cut.

Each video is its own origin (its watch URL, as for a single video), so a talk also ingested by
its link is one story. A video already read cleanly is not fetched again (transcripts of
published talks do not change); a video that left the listing (deleted, made private, or no
longer matching the filter) is yielded as :class:`~reffy.models.Gone` after a complete listing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import quote, unquote, urlsplit

from ingest.registry import ItemState
from ingest.sources.base import ExtractionError, ReadContext, describe_failure
from ingest.sources.youtube import _INFO_OPTIONS, _VIDEO_ID, TranscriptClient, _record, fetch_transcript, watch_url
from reffy.errors import ConfigError, SourceNotFound
from reffy.models import Gone, Problem, RawRecord, SourceItem, Unchanged

_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com"}
_CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
_HANDLE = re.compile(r"^@[A-Za-z0-9._-]{3,30}$")
_LEGACY_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_TABS = {"videos", "featured", "streams", "shorts", "playlists", "about", "live", "community", ""}


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A channel as its canonical URL names it."""

    kind: Literal["handle", "channel", "c", "user"]
    id: str

    @property
    def url(self) -> str:
        if self.kind == "handle":
            return f"https://www.youtube.com/{quote(self.id, safe='@')}"
        return f"https://www.youtube.com/{self.kind}/{quote(self.id, safe='')}"


def parse_channel_url(url: str) -> ChannelRef:
    """``/@handle``, ``/channel/UC...``, ``/c/NAME``, ``/user/NAME`` (a tab such as ``/videos``
    after it is fine); ValueError for anything else, videos and playlists included."""
    url = url.strip()
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if (parts.hostname or "").lower() not in _HOSTS:
        raise ValueError(f"{url} is not a youtube.com URL")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if not segments:
        raise ValueError(f"{url} names no channel")
    head = segments[0]
    if head.startswith("@"):
        if not _HANDLE.match(head) or (len(segments) > 1 and segments[1] not in _TABS):
            raise ValueError(f"{url} is not a channel handle URL")
        return ChannelRef("handle", head)
    if head in ("channel", "c", "user") and len(segments) >= 2:
        name = segments[1]
        valid = _CHANNEL_ID.match(name) if head == "channel" else _LEGACY_NAME.match(name)
        if not valid or (len(segments) > 2 and segments[2] not in _TABS):
            raise ValueError(f"{url}: {name!r} is not a valid channel {'id' if head == 'channel' else 'name'}")
        return ChannelRef(head, name)  # type: ignore[arg-type]
    raise ValueError(f"{url} is not a channel URL (/@handle, /channel/ID, /c/NAME)")


@dataclass(frozen=True, slots=True)
class ChannelVideo:
    id: str
    title: str = ""
    description: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChannelListing:
    title: str
    videos: list[ChannelVideo]


class ChannelLister(Protocol):
    """Lists a channel's videos, newest first; raises on a channel that cannot be listed."""

    def list_videos(self, channel_url: str) -> ChannelListing: ...


class StaticChannelLister:
    """Serves the listings it was given (channel URL -> listing, or an exception to raise)."""

    def __init__(self, listings: Mapping[str, ChannelListing | Exception]) -> None:
        self.listings = dict(listings)
        self.calls: list[str] = []

    def list_videos(self, channel_url: str) -> ChannelListing:
        self.calls.append(channel_url)
        found = self.listings.get(channel_url)
        if found is None:
            raise LookupError(f"{channel_url} does not exist")
        if isinstance(found, Exception):
            raise found
        return found


class YtDlpChannelLister:
    """yt-dlp's flat extraction of the channel's ``/videos`` tab (metadata only)."""

    def __init__(self, ydl: Any = None) -> None:
        self._ydl = ydl

    def list_videos(self, channel_url: str) -> ChannelListing:
        ydl = self._ydl
        if ydl is None:
            import yt_dlp

            ydl = yt_dlp.YoutubeDL({**_INFO_OPTIONS, "logger": logging.getLogger(__name__)})
        try:
            info = dict(ydl.extract_info(channel_url.rstrip("/") + "/videos", download=False) or {})
        finally:
            if ydl is not self._ydl and hasattr(ydl, "close"):
                ydl.close()
        return ChannelListing(
            str(info.get("channel") or info.get("uploader") or info.get("title") or channel_url),
            [_video(e) for e in _flat_entries(info)],
        )


def _flat_entries(info: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Video entries of a flat listing; a channel page can nest tabs (playlists of entries)."""
    for entry in info.get("entries") or []:
        if not entry:
            continue
        if entry.get("_type") == "playlist" or entry.get("entries"):
            yield from _flat_entries(entry)
        elif entry.get("id"):
            yield entry


def _video(entry: Mapping[str, Any]) -> ChannelVideo:
    meta = {k: entry[k] for k in ("duration", "upload_date", "channel", "uploader", "tags") if entry.get(k)}
    return ChannelVideo(str(entry["id"]), str(entry.get("title") or ""), str(entry.get("description") or ""), meta)


def compile_match(pattern: str | None) -> re.Pattern[str] | None:
    """The title/description filter (case-insensitive regular expression); ConfigError saying why."""
    if not pattern:
        return None
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(
            f"--match {pattern!r} is not a valid regular expression ({exc}); e.g. 'customer|case study'."
        ) from None


def matches(video: ChannelVideo, pattern: re.Pattern[str] | None) -> bool:
    return pattern is None or bool(pattern.search(f"{video.title}\n{video.description}"))


class ChannelSource:
    """One channel; ``state``/``complete`` describe the listing once :meth:`read` is done."""

    name = "channel"
    scope: str | None = None

    def __init__(
        self,
        url: str,
        *,
        known: Mapping[str, ItemState] | None = None,
        match: str | None = None,
        lister: ChannelLister | None = None,
        transcript_api: TranscriptClient | None = None,
        languages: tuple[str, ...] = ("en",),
    ) -> None:
        try:
            self.ref = parse_channel_url(url)
        except ValueError as exc:
            raise SourceNotFound(f"{exc}; give a channel URL such as https://www.youtube.com/@handle") from None
        self.known = dict(known or {})
        self.match = compile_match(match)
        self._lister = lister
        self._api = transcript_api
        self.languages = list(languages)
        self.state: dict[str, ItemState] = {}
        self.complete = False

    def read(self, ctx: ReadContext) -> Iterator[SourceItem]:
        origin = self.ref.url
        lister = self._lister or YtDlpChannelLister()
        try:
            listing = lister.list_videos(origin)
        except Exception as exc:  # yt-dlp raises many types
            text = " ".join(str(exc).split()).removeprefix("ERROR: ")[:200] or type(exc).__name__
            gone = "does not exist" in text
            yield Problem(
                origin,
                "not_found" if gone else "fetch_failed",
                f"could not list the channel {origin} ({text}); check it exists and is public, or retry later; "
                "nothing was removed",
            )
            return
        if self._api is None:
            import youtube_transcript_api as yta

            self._api = yta.YouTubeTranscriptApi()
        chosen = [v for v in listing.videos if matches(v, self.match)]
        complete = True
        for video in chosen:
            if not _VIDEO_ID.match(video.id):
                yield Problem(
                    origin, "parse_error", f"{origin} lists {video.id[:80]!r}, not a video id; skipped", "warning"
                )
                continue
            item_origin = watch_url(video.id)
            known = self.known.get(item_origin)
            if known is not None and known.ok:
                self.state[item_origin] = known
                yield Unchanged(item_origin)
                continue
            try:  # each video in its own error boundary
                fetched = fetch_transcript(self._api, video.id, self.languages)
            except ExtractionError as exc:
                yield Problem(item_origin, exc.reason, f"{item_origin}: {exc.detail}", source_record_id=video.id)
                self.state[item_origin] = ItemState(item_origin)
                if exc.reason == "blocked":
                    complete = False
                    yield Problem(origin, "blocked", f"stopped reading {origin} after YouTube blocked a request")
                    break
                continue
            except Exception as exc:
                reason, detail = describe_failure(exc, f"the transcript of {item_origin}")
                self.state[item_origin] = ItemState(item_origin)
                yield Problem(item_origin, reason, detail, source_record_id=video.id)
                continue
            details = {**video.meta, "title": video.title, "channel": video.meta.get("channel") or listing.title}
            record = _record(item_origin, video.id, fetched, details)
            self.state[item_origin] = ItemState(item_origin, ok=isinstance(record, RawRecord))
            yield record
        if complete:
            for item_origin in self.known:
                if item_origin not in self.state:
                    yield Gone(
                        item_origin, f"no longer listed on {origin}" + (" under the filter" if self.match else "")
                    )
        self.complete = complete


__all__ = [
    "ChannelLister",
    "ChannelListing",
    "ChannelRef",
    "ChannelSource",
    "ChannelVideo",
    "StaticChannelLister",
    "YtDlpChannelLister",
    "compile_match",
    "matches",
    "parse_channel_url",
]
