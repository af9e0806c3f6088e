"""Connectors. :func:`resolve_sources` turns what a user typed into Source objects."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

from ingest.sources.base import Source
from reffy.errors import SourceNotFound

YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be"}


def is_url(spec: str) -> bool:
    return urlparse(spec).scheme in ("http", "https")


def is_youtube(spec: str) -> bool:
    return (urlparse(spec).hostname or "").lower() in YOUTUBE_HOSTS


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
