"""The contracts every connector implements, plus decoding shared by the text formats.

Two levels:

* A **Source** (folder, URL list, feed, playlist) walks its origins and yields
  :data:`reffy.models.SourceItem` values. It never raises for a bad item: it yields a
  :class:`~reffy.models.Problem` and moves on.
* A **format extractor** turns the bytes of one file into :class:`Extracted` stories
  (one for a PDF, many for a JSONL or spreadsheet). It raises :class:`ExtractionError`
  with a reason code and a readable detail; the folder source turns that into a Problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from reffy.models import SourceItem

if TYPE_CHECKING:
    from reffy.config import Settings


class ExtractionError(Exception):
    """A file could not be turned into text. ``reason`` is a Problem reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Extracted:
    """One story extracted from a file. ``warnings`` become warning-level Problems."""

    title: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    source_record_id: str | None = None
    source_uri: str | None = None
    source_type: str | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A bad row inside a multi-story file (a JSONL line that is not JSON, a row with no
    text): the rest of the file still ingests."""

    reason: str
    detail: str
    source_record_id: str | None = None


@dataclass(frozen=True, slots=True)
class FileInput:
    """What an extractor gets: the path (for names and suffixes) and its bytes."""

    path: Path
    data: bytes
    settings: "Settings"


Extractor = Callable[[FileInput], Iterable["Extracted | RowProblem"]]


@dataclass(slots=True)
class ReadContext:
    """What a source may know about earlier runs. ``fingerprints``: origin -> fingerprint."""

    settings: "Settings"
    fingerprints: Mapping[str, str] = field(default_factory=dict)


class Source(Protocol):
    """A thing ``reffy ingest`` can read.

    ``scope`` is the origin prefix this source covers completely: after a clean scan,
    current bronze records under it that were not seen are marked removed. ``None``
    means the source cannot tell absence from not-looked-at (a single URL).
    """

    name: str
    scope: str | None

    def read(self, ctx: ReadContext) -> Iterator[SourceItem]: ...


def decode_text(data: bytes) -> tuple[str, str | None]:
    """Decode bytes that should be text. Returns (text, warning-or-None).

    UTF-8 (with or without BOM) is taken as is; anything else is detected with
    charset-normalizer and reported as a warning so the user knows a guess was made.
    Raises ExtractionError('encoding') for data that is not text in any encoding.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "decoded as UTF-16 (byte-order mark found)"
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or _looks_binary(data):
        raise ExtractionError(
            "encoding",
            "not valid UTF-8 and no text encoding fits; save the file as UTF-8 and ingest it again",
        )
    return str(best), f"not valid UTF-8; decoded as {best.encoding}"


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return control > len(sample) * 0.05


def sniff(data: bytes) -> str:
    """The real kind of a file from its first bytes: pdf, docx, pptx, xlsx, zip, ole, text, binary."""
    head = data[:8]
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        import io
        import zipfile

        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return "zip"
        for prefix, kind in (("word/", "docx"), ("ppt/", "pptx"), ("xl/", "xlsx")):
            if any(n.startswith(prefix) for n in names):
                return kind
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"
    return "binary" if _looks_binary(data) else "text"


def first_line_title(text: str, fallback: str) -> str:
    """A title for formats that have none: the first short non-empty line, else ``fallback``."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 160 else line[:157].rstrip() + "..."
    return fallback


__all__ = [
    "ExtractionError",
    "Extracted",
    "Extractor",
    "FileInput",
    "ReadContext",
    "RowProblem",
    "Source",
    "decode_text",
    "first_line_title",
    "sniff",
]
