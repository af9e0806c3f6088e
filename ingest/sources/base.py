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

import io
import re
from collections import Counter
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
    settings: Settings


Extractor = Callable[[FileInput], Iterable["Extracted | RowProblem"]]


@dataclass(slots=True)
class ReadContext:
    """What a source may know about earlier runs. ``fingerprints``: origin -> fingerprint."""

    settings: Settings
    fingerprints: Mapping[str, str] = field(default_factory=dict)


class Source(Protocol):
    """A thing ``reffy ingest`` can read.

    ``scope`` is the origin prefix this source covers completely: after a clean scan,
    current bronze records under it that were not seen are marked removed. ``None``
    means the source cannot tell absence from not-looked-at (a single URL).
    """

    @property
    def name(self) -> str: ...

    @property
    def scope(self) -> str | None: ...

    def read(self, ctx: ReadContext) -> Iterator[SourceItem]: ...


# Byte-order marks, longest first (the UTF-32-LE mark starts with the UTF-16-LE one).
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
)


def decode_text(data: bytes) -> tuple[str, str | None]:
    """Decode bytes that should be text. Returns (text, warning-or-None).

    In order: a UTF-16/UTF-32 byte-order mark decides (nothing is guessed); UTF-8 (with
    or without BOM) is taken as is; Latin-script text in a single-byte code page is
    decoded by :func:`_guess_codepage`; anything else is detected with charset-normalizer.
    A guess is reported as a warning so the user knows one was made. Raises
    ExtractionError('encoding') for data that is not text in any encoding.
    """
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(codec)
                warning = None
            except UnicodeDecodeError as exc:
                text = data[len(bom) :].decode(codec, errors="replace")
                warning = (
                    f"the file declares {name} (byte-order mark) but has invalid bytes ({exc.reason}); "
                    "they were replaced"
                )
            if _looks_binary_text(text):
                raise ExtractionError(
                    "encoding",
                    f"the file starts with a {name} byte-order mark but is not text; "
                    "save it as UTF-8 text and ingest it again",
                )
            return text, warning
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    if _looks_binary(data):
        raise ExtractionError(
            "encoding",
            "not valid UTF-8 and no text encoding fits; save the file as UTF-8 and ingest it again",
        )
    guessed = _guess_codepage(data)
    if guessed is not None:
        text, codec = guessed
        return text, f"not valid UTF-8; decoded as {codec} ({_CODEPAGE_NAMES[codec]})"
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ExtractionError(
            "encoding",
            "not valid UTF-8 and no text encoding fits; save the file as UTF-8 and ingest it again",
        )
    return str(best), f"not valid UTF-8; decoded as {best.encoding}"


# -- single-byte code pages of Latin-script text -----------------------------------------
# The Windows code pages share ASCII and most accented letters (é, á, ö, ü, š, ž ...) and
# differ in a few dozen bytes: 0xF8 is ø in cp1252 and ř in cp1250, 0xE3 is ã or ă. Which
# reading is right shows in the letters: real text is written in one language, so its
# accented letters belong to one alphabet. Each code page is scored by the language it
# fits best: first the letters that change between readings, then all accented letters,
# then symbols stuck inside words (³ in "ma³y" is the ł of cp1250). The lowest score wins;
# a tie goes to cp1252 (Western European, and a superset of Latin-1's printable characters),
# so a text with no evidence either way is read as Western.
_CODEPAGES = ("cp1252", "cp1250", "cp1254", "cp1257")
_CODEPAGE_NAMES = {"cp1252": "Western European", "cp1250": "Central European", "cp1254": "Turkish", "cp1257": "Baltic"}
_ALPHABETS: dict[str, tuple[str, ...]] = {
    "cp1252": (
        "",
        "àâæçéèêëîïôœùûüÿ",
        "áéíñóúü",
        "áâãàçéêíóôõú",
        "àèéìíîòóù",
        "àçèéíïòóúü",
        "äöüß",
        "áéëèïóöü",
        "æøåéó",
        "æøåéóòô",
        "åäöé",
        "åäöšž",
        "áðéíóúýþæö",
        "äöõüšž",
        "áéíóú",
    ),  # en, fr, es, pt, it, ca, de, nl, da, no, sv, fi, is, et, ga
    "cp1250": (
        "áčďéěíňóřšťúůýž",
        "áäčďéíĺľňóôŕšťúýž",
        "ąćęłńóśźż",
        "áéíóöőúüű",
        "ăâîşţ",
        "čćđšž",
        "äöüß",
    ),  # cs, sk, pl, hu, ro, hr/sl, de
    "cp1254": ("çğıi̇öşüâîû",),  # tr
    "cp1257": ("ąčęėįšųūž", "āčēģīķļņšūž", "äöõüšž"),  # lt, lv, et
}
_ALPHABET_SETS = {
    cp: [frozenset(a) | {"i̇"} if "ı" in a else frozenset(a) for a in alphabets] for cp, alphabets in _ALPHABETS.items()
}
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_INSIDE_WORD = re.compile(r"(?<=[^\W\d_])[^\x00-\x7f](?=[^\W\d_])")
_HIGH_BYTES = bytes(range(0x80, 0x100))
_ASCII_LETTERS = bytes(range(0x41, 0x5B)) + bytes(range(0x61, 0x7B))
_SAMPLE = 1 << 20


def _guess_codepage(data: bytes) -> tuple[str, str] | None:
    """(text, codec) for Latin-script text in a Windows code page; None when the text is not
    Latin-script (Cyrillic, Greek...: most letters are high bytes) or no code page decodes it."""
    sample = data[:_SAMPLE]
    high = len(sample) - len(sample.translate(None, _HIGH_BYTES))
    ascii_letters = len(sample) - len(sample.translate(None, _ASCII_LETTERS))
    if not high or high > 0.6 * (high + ascii_letters):
        return None
    readings: dict[str, str] = {}
    for codec in _CODEPAGES:
        try:
            readings[codec] = sample.decode(codec)
        except UnicodeDecodeError:
            continue
    if not readings:
        return None
    letters = {codec: Counter(c for c in _NON_ASCII.findall(text) if c.isalpha()) for codec, text in readings.items()}
    shared = set.intersection(*(set(c) for c in letters.values())) if len(letters) > 1 else set()

    def score(codec: str) -> tuple[int, int, int]:
        counts = letters[codec]
        stuck = sum(1 for c in _INSIDE_WORD.findall(readings[codec]) if not c.isalpha())
        fits = []
        for alphabet in _ALPHABET_SETS[codec]:
            foreign = {c: n for c, n in counts.items() if c.lower() not in alphabet}
            fits.append((sum(n for c, n in foreign.items() if c not in shared), sum(foreign.values())))
        changed, total = min(fits)
        return changed + stuck, total, stuck

    ranked = sorted(readings, key=lambda codec: (score(codec), _CODEPAGES.index(codec)))
    for codec in ranked:
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:  # a byte beyond the sample that this code page lacks
            continue
    return None


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return control > len(sample) * 0.05


def _looks_binary_text(text: str) -> bool:
    sample = text[:8192]
    control = sum(1 for c in sample if c < "\t" or "\r" < c < " ")
    return control > len(sample) * 0.05


def _bom_text(data: bytes) -> bool:
    """True for data that starts with a UTF-16/32 byte-order mark and decodes as text."""
    for bom, codec, _ in _BOMS:
        if data.startswith(bom):
            head = data[len(bom) : len(bom) + 8192]
            head = head[: len(head) - len(head) % (4 if "32" in codec else 2)]
            try:
                text = head.decode(codec)
            except UnicodeDecodeError as exc:  # random bytes are rarely valid UTF-16/32
                if exc.start < len(head) - 4:  # (a surrogate pair cut by the sample is fine)
                    return False
                text = head[: exc.start].decode(codec)
            return not _looks_binary_text(text)
    return False


def check_zip(data: bytes, settings: Settings, label: str) -> None:
    """Refuse a zip-based file (.docx, .pptx, .xlsx) that would expand too far, from its
    directory alone: nothing is decompressed. Raises ExtractionError ``too_large`` (too many
    parts, too big unpacked) or ``zip_bomb`` (a part unpacks far beyond its packed size).
    A file that is not a readable zip passes: its extractor reports it as corrupt.

    The sizes in the directory can be trusted as upper bounds: Python's zipfile (used by
    python-docx, python-pptx and openpyxl) never returns more than a part's declared size.
    """
    import zipfile

    max_entries = settings.max_zip_entries
    try:  # the entry count from the end record, before zipfile builds one object per entry
        end = zipfile._EndRecData(io.BytesIO(data))  # type: ignore[attr-defined]
        declared = end[zipfile._ECD_ENTRIES_TOTAL] if end else 0  # type: ignore[attr-defined]
    except Exception:
        declared = 0
    if declared > max_entries:
        raise ExtractionError(
            "too_large",
            f"refused: the {label} holds {declared:,} parts (limit {max_entries:,}); "
            "it may be a zip bomb. If it is genuine, raise REFFY_MAX_ZIP_ENTRIES",
        )
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, KeyError):
        return
    if len(infos) > max_entries:
        raise ExtractionError(
            "too_large",
            f"refused: the {label} holds {len(infos):,} parts (limit {max_entries:,}); "
            "it may be a zip bomb. If it is genuine, raise REFFY_MAX_ZIP_ENTRIES",
        )
    ratio = settings.max_zip_ratio
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    for info in sorted(infos, key=lambda i: i.file_size, reverse=True):
        if info.file_size < _RATIO_FLOOR:
            break
        if info.file_size > ratio * max(info.compress_size, 1):
            raise ExtractionError(
                "zip_bomb",
                f"refused: {info.filename} inside the {label} unpacks to {_size(info.file_size)} from "
                f"{_size(info.compress_size)} ({info.file_size / max(info.compress_size, 1):,.0f}x, limit {ratio:g}x); "
                "it is probably a zip bomb. If the file is genuine, raise REFFY_MAX_ZIP_RATIO",
            )
    if unpacked >= _RATIO_FLOOR and unpacked > ratio * max(packed, 1):
        raise ExtractionError(
            "zip_bomb",
            f"refused: the {label} unpacks to {_size(unpacked)} from {_size(packed)} "
            f"({unpacked / max(packed, 1):,.0f}x, limit {ratio:g}x); it is probably a zip bomb. "
            "If the file is genuine, raise REFFY_MAX_ZIP_RATIO",
        )
    limit = settings.max_zip_uncompressed_mb * 1024 * 1024
    if unpacked > limit:
        raise ExtractionError(
            "too_large",
            f"refused: the {label} expands to {_size(unpacked)} (limit {settings.max_zip_uncompressed_mb:g} MB); "
            "it may be a zip bomb. If it is genuine, raise REFFY_MAX_ZIP_UNCOMPRESSED_MB",
        )


_RATIO_FLOOR = 1 << 20  # parts smaller than this cannot hurt, whatever their ratio


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def describe_failure(exc: BaseException, what: str) -> tuple[str, str]:
    """(reason, detail) for an unexpected exception while reading ``what`` ("the file",
    "line 3", "the page"): what happened and what to do, never a bare traceback."""
    msg = " ".join(str(exc).split())
    msg = msg[:200] + "..." if len(msg) > 200 else msg
    cause = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    if isinstance(exc, RecursionError):
        return "too_deep", (
            f"{what} is nested too deeply to read ({cause}); it is broken or hostile: "
            "fix or remove that part and ingest it again"
        )
    if isinstance(exc, MemoryError):
        return "too_large", (
            f"reading {what} ran out of memory; it is too large or hostile: split it, "
            "or lower the limits (REFFY_MAX_FILE_MB)"
        )
    if isinstance(exc, UnicodeError):
        return "encoding", f"{what} has text that cannot be decoded ({cause}); save it as UTF-8 and ingest it again"
    return "corrupt", (
        f"{what} could not be read ({cause}); it may be damaged: re-export or re-save it "
        "(if it opens fine elsewhere, please report this)"
    )


def sniff(data: bytes) -> str:
    """The real kind of a file from its first bytes: pdf, docx, pptx, xlsx, zip, ole, text, binary."""
    head = data[:8]
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        import zipfile

        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, KeyError):
            return "zip"
        for prefix, kind in (("word/", "docx"), ("ppt/", "pptx"), ("xl/", "xlsx")):
            if any(n.startswith(prefix) for n in names):
                return kind
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"
    if _bom_text(data):
        return "text"
    return "binary" if _looks_binary(data) else "text"


def first_line_title(text: str, fallback: str) -> str:
    """A title for formats that have none: the first short non-empty line, else ``fallback``."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 160 else line[:157].rstrip() + "..."
    return fallback


__all__ = [
    "Extracted",
    "ExtractionError",
    "Extractor",
    "FileInput",
    "ReadContext",
    "RowProblem",
    "Source",
    "check_zip",
    "decode_text",
    "describe_failure",
    "first_line_title",
    "sniff",
]
