"""Connectors. :func:`resolve_sources` turns what a user typed into Source objects."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ingest.sources.base import Source
from reffy.errors import SourceNotFound
from reffy.models import Problem

YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be"}


def is_url(spec: str) -> bool:
    return urlparse(spec).scheme in ("http", "https")


def is_youtube(spec: str) -> bool:
    return (urlparse(spec).hostname or "").lower() in YOUTUBE_HOSTS


def web_address_lines(text: str) -> tuple[list[str], list[Problem]]:
    """The web addresses in a pasted list, one per line (blank lines and '#' comments skipped):
    (the http(s) URLs, in order and once each; a Problem for every other line). A line that is
    not a web address (a file path, a typo, a URL with no host) is one problem of its own, so it
    never stops the lines beside it; files belong in an upload, not a path typed on a server."""
    urls: list[str] = []
    refused: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if _web_address(line):
            if line not in urls:
                urls.append(line)
            continue
        shown = line if len(line) <= 200 else line[:200] + "…"
        refused.append(
            Problem(
                shown,
                "not_a_url",
                f"Line {number} ({shown!r}) is not a web address: give a page, "
                "feed or YouTube link starting with http:// or https:// (upload files instead of "
                "typing their path).",
            )
        )
    return urls, refused


def _web_address(line: str) -> bool:
    try:
        parts = urlparse(line)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in line)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False


class RefusedInput:
    """What a person typed that could not be read (see :func:`web_address_lines`), as a source
    whose items are its problems: they are recorded with the run they belong to, one each."""

    name = "refused input"
    scope = None

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)

    def read(self, ctx: Any) -> Iterator[Problem]:
        yield from self.problems


def read_url_list(path: Path) -> list[str]:
    """URLs from a text file, one per line; blank lines and '#' comments ignored."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SourceNotFound(f"Cannot read the URL list {path}: {exc.strerror or exc}") from exc
    urls = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    bad = [u for u in urls if not is_url(u)]
    if bad:
        raise SourceNotFound(f"{path} has lines that are not http(s) URLs, e.g. {bad[0]!r}; fix or comment them out")
    return urls


def resolve_sources(
    specs: Sequence[str],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    url_lists: Sequence[Path] = (),
) -> list[Source]:
    """Paths become folder/file sources, YouTube links YouTube sources, other URLs one web
    source (fetched concurrently; feeds are detected by content)."""
    from ingest.sources.files import FolderSource

    sources: list[Source] = []
    urls: list[str] = []
    for spec in specs:
        if is_youtube(spec):
            from ingest.sources.youtube import YouTubeSource

            sources.append(YouTubeSource(spec))
        elif is_url(spec):
            urls.append(spec)
        elif Path(spec).expanduser().exists():
            sources.append(FolderSource(Path(spec).expanduser(), list(include), list(exclude)))
        else:
            raise SourceNotFound(
                f"No such file, folder or URL: {spec!r}. Give a path, an http(s) URL, a feed URL or a YouTube link."
            )
    for path in url_lists:
        for url in read_url_list(path):
            if is_youtube(url):
                from ingest.sources.youtube import YouTubeSource

                sources.append(YouTubeSource(url))
            else:
                urls.append(url)
    if urls:
        from ingest.sources.web import WebSource

        sources.append(WebSource(list(dict.fromkeys(urls))))
    return sources
