"""Files and folders: walking, filtering, safety checks, then per-format extraction.

The walker owns everything that is about *files* rather than formats: include and
exclude globs (plus a ``.reffyignore`` in the ingested root, gitignore syntax), symlinks
(never followed out of the root), size caps, empty files, unchanged-file skipping by
(size, mtime) fingerprint, and mislabelled files (a ``.pdf`` that is really a Word
document is read as what it is, with a warning). Extractors only see bytes they can read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.sources.base import Extracted, ExtractionError, FileInput, ReadContext, RowProblem, sniff
from ingest.sources.formats import EXTRACTORS, EXPECTED_KIND, SUFFIX_FOR_KIND
from reffy.models import Problem, RawRecord, SourceItem, Unchanged, utcnow

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
        self.scope = str(self.root)

    # -- walking ----------------------------------------------------------------------
    def files(self, default_excludes: list[str]) -> Iterator[Path]:
        """Candidate files in a stable order, after include/exclude filtering."""
        if self.root.is_file():
            yield self.root
            return
        excludes = list(default_excludes) + list(self.exclude)
        ignore_file = self.root / IGNORE_FILE
        if ignore_file.is_file():
            excludes += ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
        exclude_spec = _spec(excludes)
        include_spec = _spec(self.include) if self.include else None
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            rel_dir = Path(dirpath).relative_to(self.root)
            dirnames[:] = sorted(
                d for d in dirnames if not exclude_spec.match_file(f"{(rel_dir / d).as_posix()}/")
            )
            for name in sorted(filenames):
                rel = (rel_dir / name).as_posix()
                if exclude_spec.match_file(rel) or (include_spec and not include_spec.match_file(rel)):
                    continue
                yield Path(dirpath) / name

    def estimate(self, default_excludes: list[str]) -> int:
        return sum(1 for _ in self.files(default_excludes))

    def read(self, ctx: ReadContext) -> Iterator[SourceItem]:
        for path in self.files(ctx.settings.default_excludes):
            yield from self._read_file(path, ctx)

    # -- one file ---------------------------------------------------------------------
    def _read_file(self, path: Path, ctx: ReadContext) -> Iterator[SourceItem]:
        origin = str(path)
        settings = ctx.settings
        if path.is_symlink():
            target = path.resolve()
            boundary = self.root if self.root.is_dir() else self.root.parent
            if not target.is_relative_to(boundary.resolve()):
                yield Problem(origin, "outside_root", f"symlink to {target} leads outside {boundary}; not followed",
                              "warning")  # fmt: skip
                return
        suffix = path.suffix.lower()
        if suffix not in EXTRACTORS:
            supported = ", ".join(sorted(EXTRACTORS))
            yield Problem(origin, "unsupported", f"'{suffix or path.name}' files are not stories Reffy reads "
                          f"(supported: {supported}); add it to {IGNORE_FILE} to silence this", "warning")  # fmt: skip
            return
        try:
            stat = path.stat()
        except OSError as exc:
            yield Problem(origin, "unreadable", f"cannot read the file: {exc.strerror or exc}")
            return
        if stat.st_size > settings.max_file_mb * 1024 * 1024:
            yield Problem(origin, "too_large", f"{stat.st_size / 1048576:.1f} MB is over the {settings.max_file_mb:g} MB "
                          "limit; split the file or raise REFFY_MAX_FILE_MB")  # fmt: skip
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

    def _extract(self, path: Path, data: bytes, suffix: str, fingerprint: str, ctx: ReadContext) -> Iterator[SourceItem]:
        origin = str(path)
        kind = sniff(data)
        expected = EXPECTED_KIND[suffix]
        extractor = EXTRACTORS[suffix]
        warnings: list[tuple[str, str]] = []
        if kind != expected:
            if kind == "ole":
                yield Problem(origin, "unsupported", "legacy binary Office file (.doc/.ppt/.xls); "
                              "save it as .docx/.pptx/.xlsx and ingest that")  # fmt: skip
                return
            real_suffix = SUFFIX_FOR_KIND.get(kind)
            if real_suffix is None:
                yield Problem(origin, "mislabelled", f"named {suffix} but the content is {_describe(kind)}; "
                              "rename it with the right extension")  # fmt: skip
                return
            warnings.append(("mislabelled", f"named {suffix} but the content is {_describe(kind)}; read it as {real_suffix}"))
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
        origin=str(path),
        source_uri=item.source_uri or path.resolve().as_uri(),
        source_type=item.source_type or path.suffix.lower().lstrip("."),
        title=item.title.strip() or path.stem,
        text=item.text,
        source_record_id=item.source_record_id,
        meta=item.meta,
        fetched_at=fetched,
        origin_fingerprint=fingerprint,
    )


def _describe(kind: str) -> str:
    return {"text": "plain text", "binary": "binary data", "zip": "a zip archive"}.get(kind, f"a {kind.upper()} file")
