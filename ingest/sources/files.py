"""Files and folders: walking, filtering, safety checks, then per-format extraction.

The walker owns everything that is about *files* rather than formats: include and
exclude globs (plus a ``.reffyignore`` in the ingested root, gitignore syntax), symlinks
(never followed out of the root; each one skipped is recorded as a warning), size caps,
zip-bomb checks, empty files, unchanged-file skipping by (size, mtime) fingerprint, and
mislabelled files (a ``.pdf`` that is really a Word document is read as what it is, with a
warning). Extractors only see bytes they can read.

Every file is read in its own error boundary: whatever a file does (a RecursionError from
hostile nesting, a MemoryError, a parser bug), it becomes a Problem for that file and the
walk goes on. Origins are :func:`~reffy.models.readable`: a name that is not valid UTF-8
is stored and printed with its bad bytes as ``\\xNN``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.sources.base import (
    Extracted,
    ExtractionError,
    FileInput,
    ReadContext,
    RowProblem,
    check_zip,
    describe_failure,
    sniff,
)
from ingest.sources.formats import EXPECTED_KIND, EXTRACTORS, SUFFIX_FOR_KIND
from reffy.models import Problem, RawRecord, SourceItem, Unchanged, readable, utcnow

IGNORE_FILE = ".reffyignore"


def _spec(patterns: list[str]):
    import pathspec

    return pathspec.PathSpec.from_lines("gitwildmatch", patterns)


@dataclass
class FolderSource:
    """A folder (recursively) or a single file."""

    root: Path
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(os.path.abspath(self.root))
        self.name = str(self.root)
        self.scope: str | None = str(self.root)

    # -- walking ----------------------------------------------------------------------
    def files(self, default_excludes: list[str]) -> Iterator[Path]:
        """Candidate files in a stable order, after include/exclude filtering."""
        for entry in self._walk(default_excludes):
            if isinstance(entry, Path):
                yield entry

    def _walk(self, default_excludes: list[str]) -> Iterator[Path | Problem]:
        """Candidate files, plus a problem for each folder that is skipped: an error for one
        that cannot be listed, a warning for a symlink to a folder outside the root."""
        if self.root.is_file():
            yield self.root
            return
        excludes = list(default_excludes) + list(self.exclude)
        ignore_file = self.root / IGNORE_FILE
        if ignore_file.is_file():
            excludes += ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
        exclude_spec = _spec(excludes)
        include_spec = _spec(self.include) if self.include else None
        unlisted: list[OSError] = []
        boundary = self.root.resolve()
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False, onerror=unlisted.append):
            while unlisted:
                yield self._unlisted(unlisted.pop(), dirpath)
            rel_dir = Path(dirpath).relative_to(self.root)
            kept = []
            for d in sorted(dirnames):
                if exclude_spec.match_file(f"{(rel_dir / d).as_posix()}/"):
                    continue
                kept.append(d)
                link = Path(dirpath) / d
                if link.is_symlink() and (problem := self._outside(link, boundary, "folder")):
                    yield problem
            dirnames[:] = kept  # symlinked folders are listed but never walked (followlinks=False)
            for name in sorted(filenames):
                rel = (rel_dir / name).as_posix()
                if exclude_spec.match_file(rel) or (include_spec and not include_spec.match_file(rel)):
                    continue
                yield Path(dirpath) / name
        while unlisted:
            yield self._unlisted(unlisted.pop(), str(self.root))

    def _unlisted(self, exc: OSError, where: str) -> Problem:
        """A folder that cannot be listed: an error, and this scan no longer covers the root
        completely, so nothing is marked removed because it was not seen."""
        self.scope = None
        where = readable(str(exc.filename or where))
        return Problem(
            where,
            "unreadable",
            f"cannot list the folder {where} ({exc.strerror or exc}); its files "
            "were not read and nothing under the folder was marked removed: check its permissions",
        )

    def estimate(self, default_excludes: list[str]) -> int:
        return sum(1 for _ in self.files(default_excludes))

    def read(self, ctx: ReadContext) -> Iterator[SourceItem]:
        self.scope = str(self.root)  # until a folder turns out to be unlistable
        for entry in self._walk(ctx.settings.default_excludes):
            if isinstance(entry, Problem):
                yield entry
                continue
            try:  # each file in its own error boundary: one hostile file never stops the folder
                yield from self._read_file(entry, ctx)
            except Exception as exc:
                reason, detail = describe_failure(exc, "the file")
                yield Problem(readable(str(entry)), reason, detail)

    def _outside(self, link: Path, boundary: Path, kind: str) -> Problem | None:
        """A warning for a symlink that leads out of the root (or nowhere: a loop); None
        when it stays inside."""
        shown = readable(str(self.root if self.root.is_dir() else self.root.parent))
        try:
            target = link.resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop
            return Problem(
                readable(str(link)),
                "outside_root",
                f"symlink that cannot be resolved ({exc}); not followed: fix or remove the link",
                "warning",
            )
        if target.is_relative_to(boundary):
            return None
        what = "symlink to the folder" if kind == "folder" else "symlink to"
        return Problem(
            readable(str(link)),
            "outside_root",
            f"{what} {readable(str(target))} leads outside {shown}; not followed",
            "warning",
        )

    # -- one file ---------------------------------------------------------------------
    def _read_file(self, path: Path, ctx: ReadContext) -> Iterator[SourceItem]:
        origin = readable(str(path))  # a name that is not valid UTF-8 is stored as caf\xe9.txt
        settings = ctx.settings
        if path.is_symlink():
            boundary = self.root if self.root.is_dir() else self.root.parent
            if problem := self._outside(path, boundary.resolve(), "file"):
                yield problem
                return
        suffix = path.suffix.lower()
        if suffix not in EXTRACTORS:
            supported = ", ".join(sorted(EXTRACTORS))
            yield Problem(
                origin,
                "unsupported",
                f"'{readable(suffix or path.name)}' files are not stories Reffy "
                f"reads (supported: {supported}); add it to {IGNORE_FILE} to silence this",
                "warning",
            )
            return
        try:
            stat = path.stat()
        except OSError as exc:
            yield Problem(origin, "unreadable", f"cannot read the file: {exc.strerror or exc}")
            return
        if stat.st_size > settings.max_file_mb * 1024 * 1024:
            yield Problem(
                origin,
                "too_large",
                f"{stat.st_size / 1048576:.1f} MB is over the {settings.max_file_mb:g} MB "
                "limit; split the file or raise REFFY_MAX_FILE_MB",
            )
            return
        if stat.st_size == 0:
            yield Problem(origin, "empty", "the file is empty (0 bytes)")
            return
        fingerprint = f"{stat.st_size}:{stat.st_mtime_ns}"
        if ctx.fingerprints.get(origin) == fingerprint:
            yield Unchanged(origin)
            return
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield Problem(origin, "unreadable", f"cannot read the file: {exc.strerror or exc}")
            return
        yield from self._extract(path, data, suffix, fingerprint, ctx)

    def _extract(
        self, path: Path, data: bytes, suffix: str, fingerprint: str, ctx: ReadContext
    ) -> Iterator[SourceItem]:
        origin = readable(str(path))
        if data.startswith(b"PK\x03\x04"):  # any zip, whatever its name: sized up before it is opened
            try:
                check_zip(data, ctx.settings, f"{suffix} file" if suffix else "file")
            except ExtractionError as exc:
                yield Problem(origin, exc.reason, exc.detail)
                return
        kind = sniff(data)
        expected = EXPECTED_KIND[suffix]
        extractor = EXTRACTORS[suffix]
        warnings: list[tuple[str, str]] = []
        if kind != expected:
            if kind == "ole":
                yield Problem(
                    origin,
                    "unsupported",
                    "legacy binary Office file (.doc/.ppt/.xls); save it as .docx/.pptx/.xlsx and ingest that",
                )
                return
            real_suffix = SUFFIX_FOR_KIND.get(kind)
            if real_suffix is None:
                yield Problem(
                    origin,
                    "mislabelled",
                    f"named {suffix} but the content is {_describe(kind)}; rename it with the right extension",
                )
                return
            warnings.append(
                ("mislabelled", f"named {suffix} but the content is {_describe(kind)}; read it as {real_suffix}")
            )
            extractor = EXTRACTORS[real_suffix]
        fetched = utcnow()
        produced = False
        try:
            for item in extractor(FileInput(path, data, ctx.settings)):
                if isinstance(item, RowProblem):
                    yield Problem(origin, item.reason, item.detail, "error", item.source_record_id)
                    continue
                if not item.text.strip():
                    yield Problem(origin, "empty", "no text could be extracted", "error", item.source_record_id)
                    continue
                for reason, detail in [*warnings, *item.warnings]:
                    yield Problem(origin, reason, detail, "warning", item.source_record_id)
                warnings = []
                produced = True
                yield _record(path, item, fingerprint, fetched)
        except ExtractionError as exc:
            yield Problem(origin, exc.reason, exc.detail)
            return
        if not produced:
            yield Problem(origin, "empty", "the file produced no stories")


def _record(path: Path, item: Extracted, fingerprint: str, fetched) -> RawRecord:
    return RawRecord(
        origin=readable(str(path)),
        source_uri=item.source_uri or path.resolve().as_uri(),
        source_type=item.source_type or path.suffix.lower().lstrip("."),
        title=item.title.strip() or readable(path.stem),
        text=item.text,
        source_record_id=item.source_record_id,
        meta=item.meta,
        fetched_at=fetched,
        origin_fingerprint=fingerprint,
    )


def _describe(kind: str) -> str:
    return {"text": "plain text", "binary": "binary data", "zip": "a zip archive"}.get(kind, f"a {kind.upper()} file")
