"""Domain types shared by ingestion and serving. Imports nothing else from Reffy.

A *source* (folder, JSONL file, feed, web page, YouTube playlist) yields a stream of
:data:`SourceItem`: records, problems, and bookkeeping signals. Keeping problems in the
same stream as records is what lets a run record every failure and keep going.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Severity = Literal["error", "warning"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def normalise_text(text: str) -> str:
    """Canonical form used for hashing: NFC, unified newlines, collapsed blank runs."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


_SURROGATE = re.compile("[\ud800-\udfff]")


def readable(text: str) -> str:
    """``text`` safe to store and print: no lone surrogates.

    A file name that is not valid UTF-8 arrives from the OS with its bad bytes escaped as
    surrogates (U+DC80..U+DCFF); each becomes ``\\xNN`` (``caf\\xe9.txt``), which names the
    exact byte. Any other lone surrogate (from JSON ``"\\ud800"``) becomes U+FFFD.
    """
    if not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub(
        lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}" if 0xDC80 <= ord(m.group()) <= 0xDCFF else "\ufffd", text
    )


def _sha256(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One story as read from a source, before anything is judged about it.

    ``origin`` is the container it was read from (absolute file path, feed URL, page
    URL, playlist URL); ``source_record_id`` tells records of one origin apart (a JSONL
    slug, a spreadsheet row id, a feed entry id). Together they identify the record
    across runs; the content hash identifies one version of it.
    """

    origin: str
    source_uri: str
    source_type: str
    title: str
    text: str
    source_record_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    fetched_at: datetime = field(default_factory=utcnow)
    origin_fingerprint: str | None = None

    @property
    def record_key(self) -> str:
        """Stable identity of the source record across versions."""
        return _sha256(self.origin, self.source_record_id or "")[:32]

    @property
    def text_hash(self) -> str:
        """Hash of the normalised body alone: equal for exact duplicates across sources."""
        return _sha256(normalise_text(self.text))

    @property
    def content_hash(self) -> str:
        """Hash of everything that makes a version: title, body and source metadata."""
        meta = json.dumps(self.meta, sort_keys=True, default=str, ensure_ascii=False)
        return _sha256(normalise_text(self.title), normalise_text(self.text), meta)


@dataclass(frozen=True, slots=True)
class Problem:
    """A source item that could not be ingested (or was ingested with a caveat).

    ``reason`` is a short stable code (``corrupt``, ``empty``, ``too_large``, ``encoding``,
    ``mislabelled``, ``unsupported``, ``fetch_failed``, ``no_captions``, ``blocked``,
    ``outside_root``, ``parse_error``, ``zip_bomb``, ``too_deep``, ``meta_too_large``, ``blocked_url``,
    ``login_wall``, ``too_short``, ``not_a_url``, ``disallowed`` (robots.txt), ``off_site``, ``internal``);
    ``detail`` is a sentence a person can act on.
    """

    origin: str
    reason: str
    detail: str
    severity: Severity = "error"
    source_record_id: str | None = None


@dataclass(frozen=True, slots=True)
class Unchanged:
    """The origin is byte-for-byte as last ingested: its records are still current."""

    origin: str


@dataclass(frozen=True, slots=True)
class Gone:
    """The origin answered that it no longer exists (HTTP 404/410, deleted video)."""

    origin: str
    detail: str = ""


SourceItem = RawRecord | Problem | Unchanged | Gone


INGEST_STATUSES = ("running", "completed", "partial", "failed", "interrupted")


@dataclass(slots=True)
class IngestSummary:
    """What one ingest run did; persisted in ``ingest_runs``.

    ``status``: ``completed`` (every item read; warnings allowed), ``partial`` (the run
    finished but some items failed: ``errors`` > 0), ``failed`` (items failed and nothing
    at all could be read), ``interrupted`` (the run was stopped or crashed), ``running``.
    """

    run_id: int
    sources: list[str]
    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    errors: int = 0
    warnings: int = 0
    duplicates: int = 0
    duration_s: float = 0.0
    status: str = "completed"


@dataclass(slots=True)
class LibraryStatus:
    """Counts per layer plus recent activity, for ``reffy status`` and the app."""

    home: str
    layers: dict[str, int]
    by_source_type: dict[str, int]
    recent_runs: list[dict[str, Any]]
    recent_errors: list[dict[str, Any]]
    errors_by_reason: dict[str, int]
    scoring_runs: list[dict[str, Any]] = field(default_factory=list)
    last_gold_build: dict[str, Any] | None = None
    search_index: dict[str, Any] = field(default_factory=dict)  # the index manifest: what built it, how complete
    reranker: str = ""  # re-ranking state, one line (off / configured / on)
    # pages the last gold build kept out although they reached the threshold (not customer stories), with why
    held_back: list[dict[str, Any]] = field(default_factory=list)


# -- silver: scoring results ---------------------------------------------------------------
@dataclass(slots=True)
class StoryInput:
    """What a scorer sees of one story: bronze text plus source metadata."""

    story_id: str  # bronze content hash of the version being scored
    title: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    source_type: str = ""
    origin: str = ""


@dataclass(slots=True)
class CriterionScore:
    """Points for one rubric criterion, with the evidence that earned them.

    ``evidence_found`` is the evidence check's verdict (quote found in the story text);
    points whose evidence is not found are withdrawn: ``points`` is what counts,
    ``claimed_points`` what the scorer asked for.
    """

    criterion_id: str
    points: int
    max_points: int
    evidence: str = ""
    rationale: str = ""
    evidence_found: bool = True
    claimed_points: int | None = None


@dataclass(slots=True)
class Quote:
    text: str
    speaker: str | None = None
    role: str | None = None


@dataclass(slots=True)
class StoryMetadata:
    """Facts extracted from a story (by an LLM or offline)."""

    customer: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    industry: str | None = None  # a taxonomy id
    products: list[str] = field(default_factory=list)
    competitors: list[str] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)  # outcome figures as written, e.g. "cut handling time by 38%"
    shareability: str | None = None  # public | internal (None: the scorer could not tell)
    challenge: str | None = None  # one-sentence business challenge, for the gold summary
    solution: str | None = None  # one-sentence solution, for the gold summary


@dataclass(slots=True)
class ScoreResult:
    """One scorer's judgement of one story."""

    story_id: str
    scorer: str  # offline | llm
    model: str  # "" for offline
    prompt_version: str
    criteria: list[CriterionScore] = field(default_factory=list)
    metadata: StoryMetadata = field(default_factory=StoryMetadata)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0

    @property
    def total(self) -> int:
        return sum(c.points for c in self.criteria)

    @property
    def withdrawn_points(self) -> int:
        return sum((c.claimed_points or c.points) - c.points for c in self.criteria)
