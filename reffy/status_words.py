"""Library status in people's words, for the Library status page: what each count means
("stories after merging duplicates", not "bronze stories (after duplicates)"), recent runs and
problems as readable rows (when, what happened, how many, the reason in words) instead of raw
rows, dicts and JSON lists, with every count in its right plural form.

Pure functions of a :class:`~reffy.models.LibraryStatus` (read side: imports nothing of the
pipeline). The warehouse's layer names stay the keys of ``LibraryStatus.layers`` (``reffy status``
and the API print them); this module only words them. Commands (``reffy index``) and settings
(``REFFY_RERANKER_MODEL``) may appear here: the page is for admins and analysts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reffy.models import LibraryStatus
from reffy.wording import plural, sentence


@dataclass(frozen=True, slots=True)
class Count:
    """One number on the page: its label, the count and what it means."""

    label: str
    count: int
    help: str


# The warehouse's layer keys (see reffy/store/status.py), each with its label and meaning.
LAYER_WORDS: dict[str, tuple[str, str]] = {
    "bronze records": ("Sources read", "Records currently held from your files, exports and web pages."),
    "bronze stories (after duplicates)": (
        "Stories after merging duplicates",
        "Copies of the same story (a case study and its repost) counted once.",
    ),
    "bronze versions": ("Versions kept", "Every version of every record, earlier edits included."),
    "removed records": ("Removed at the source", "Records whose source was deleted; kept, marked removed."),
    "silver scored story versions": ("Scored", "Stories scored on the rubric, each point backed by a quote."),
    "gold stories": ("In the library", "Stories strong enough for the library (at or above the score threshold)."),
    "gold public": ("Public", "Library stories that may be shown to customers."),
    "gold chunks": ("Passages searchable", "Passages of library stories that search matches against."),
}

# Problem codes (reffy.models.Problem.reason) in words.
REASON_WORDS: dict[str, str] = {
    "corrupt": "the file is damaged and could not be read",
    "empty": "there is no text in it",
    "too_large": "it is larger than the size limit",
    "encoding": "its text encoding had to be guessed",
    "mislabelled": "its content does not match its file type",
    "unsupported": "this kind of file is not supported",
    "fetch_failed": "the page could not be fetched",
    "no_captions": "the video has no captions",
    "blocked": "the site refused the request",
    "outside_root": "a link leads outside the folder and was not followed",
    "parse_error": "it could not be parsed",
    "zip_bomb": "it unpacks to far more than its size (refused)",
    "too_deep": "its data is nested too deeply",
    "meta_too_large": "some of its metadata was too large and was dropped",
    "blocked_url": "the address is on a private network (not fetched)",
    "login_wall": "it is a sign-in page, not a story",
    "too_short": "it has too little text to be a story",
    "not_a_url": "it is not a web address",
    "not_found": "it no longer exists at the source",
    "disallowed": "the site's robots.txt does not allow reading it (not fetched)",
    "off_site": "it points to another site (not followed)",
    "internal": "an unexpected error stopped this item",
}

STATUS_WORDS = {
    "completed": "completed",
    "partial": "finished with problems",
    "failed": "failed",
    "interrupted": "interrupted",
    "running": "running",
}

When = Callable[[Any], str]


def default_when(moment: Any) -> str:
    """``2026-12-02 13:04 UTC`` for a datetime or an ISO string; '' for nothing."""
    if not moment:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def reason_words(reason: str | None) -> str:
    """A problem code in words (an unknown code as its words: ``some_code`` -> ``some code``)."""
    if not reason:
        return "no reason recorded"
    return REASON_WORDS.get(reason, reason.replace("_", " "))


def seconds(value: float | None) -> str:
    """A duration as people read it: ``0.4 s``, ``12 s``, ``3 min 5 s``."""
    if value is None:
        return ""
    if value < 10:
        return f"{value:.1f} s"
    if value < 60:
        return f"{value:.0f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def layer_counts(status: LibraryStatus) -> list[Count]:
    """The layer counts with their labels, in the warehouse's order (unknown keys worded as they are)."""
    out = []
    for key, count in status.layers.items():
        label, meaning = LAYER_WORDS.get(key, (key[:1].upper() + key[1:], ""))
        out.append(Count(label, int(count or 0), meaning))
    return out


def _sources(value: Any) -> list[str]:
    """The sources of an ingest run (stored as a JSON list) as a plain list."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [str(v) for v in value or []] if isinstance(value, Iterable) else [str(value)]


def problems_count(errors: int, warnings: int) -> str:
    """``none``, ``1 error``, ``2 errors and 1 warning``."""
    parts = [plural(n, w) for n, w in ((errors, "error"), (warnings, "warning")) if n]
    return " and ".join(parts) or "none"


def ingest_run_rows(status: LibraryStatus, when: When = default_when) -> list[dict[str, Any]]:
    """Recent ingest runs, one readable row each, newest first."""
    rows = []
    for r in status.recent_runs:
        changes = [
            f"{r.get('new') or 0} new",
            f"{r.get('updated') or 0} updated",
            f"{r.get('unchanged') or 0} unchanged",
        ]
        if r.get("removed"):
            changes.append(f"{r['removed']} removed")
        happened = f"{plural(r.get('seen') or 0, 'record')} read: " + ", ".join(changes)
        if r.get("duplicates"):
            happened += f"; {plural(r['duplicates'], 'duplicate')} grouped"
        sources = _sources(r.get("sources"))
        rows.append(
            {
                "run": r.get("id"),
                "when": when(r.get("started_at")),
                "result": STATUS_WORDS.get(str(r.get("status")), str(r.get("status") or "")),
                "what happened": happened,
                "problems": problems_count(r.get("errors") or 0, r.get("warnings") or 0),
                "took": seconds(r.get("duration_s")),
                "from": ", ".join(sources),
            }
        )
    return rows


def scorer_words(key: str | None) -> str:
    """``offline`` -> ``the offline scorer (no LLM)``; an LLM's key as it is."""
    if not key:
        return "unknown scorer"
    return "the offline scorer (no LLM)" if key == "offline" else key


def scoring_run_rows(status: LibraryStatus, when: When = default_when) -> list[dict[str, Any]]:
    """Recent scoring runs, one readable row each, newest first."""
    rows = []
    for r in status.scoring_runs:
        happened = plural(r.get("scored") or 0, "story") + " scored"
        if r.get("cached"):
            happened += f", {r['cached']} already scored"
        if r.get("failed"):
            happened += f", {r['failed']} could not be scored"
        tokens = (r.get("tokens_in") or 0) + (r.get("tokens_out") or 0)
        cost = f"${r.get('cost_usd') or 0:.4f} ({plural(tokens, 'token')})" if tokens else "nothing (no LLM calls)"
        rows.append(
            {
                "run": r.get("id"),
                "when": when(r.get("started_at")),
                "result": STATUS_WORDS.get(str(r.get("status")), str(r.get("status") or "")),
                "scored by": scorer_words(r.get("scorer_key")),
                "what happened": happened,
                "cost": cost,
                "took": seconds(r.get("duration_s")),
            }
        )
    return rows


def gold_build_line(status: LibraryStatus, when: When = default_when) -> str:
    """The last library build in one sentence, or '' when there was none."""
    b = status.last_gold_build
    if not b:
        return ""
    left = [f"{b.get('below_threshold') or 0} below the threshold"]
    if b.get("unscored"):
        left.append(f"{b['unscored']} not scored yet")
    if b.get("not_stories"):
        one = b["not_stories"] == 1
        left.append(
            plural(b["not_stories"], "page")
            + (" that is not a customer story" if one else " that are not customer stories")
        )
    return (
        f"Last library build {when(b.get('built_at'))}: {plural(b.get('stories') or 0, 'story')} at or above "
        f"{b.get('min_score')}/31 ({', '.join(left)}), {plural(b.get('chunks') or 0, 'passage')}; scored by "
        f"{scorer_words(b.get('scorer_key'))}, rubric {b.get('rubric_version')}."
    )


def search_index_line(status: LibraryStatus, when: When = default_when) -> str:
    """What search can find now, in one sentence."""
    m = status.search_index
    if not m:
        return "Search is not set up yet: run `reffy index` (or the pipeline on the Ingest page)."
    stories = m.get("stories")
    found = plural(stories, "story") if isinstance(stories, int) else "The library's stories"
    if m.get("complete"):
        count = m.get("vector_count", m.get("vectors"))
        meaning = f" ({plural(count, 'vector')} for search by meaning)" if isinstance(count, int) else ""
        return f"Search finds {found}{meaning}; built {_safe(when, m.get('built_at'))} with {m.get('embedder')}."
    pending = m.get("stories_pending")
    waiting = plural(pending, "story") if isinstance(pending, int) else "some stories"
    if m.get("stopped"):
        return (
            f"Search finds {found} by keyword, but the build stopped before {waiting} could be searched by "
            "meaning: run `reffy index`."
        )
    return f"Search finds {found} by keyword; search by meaning is still being prepared for {waiting}."


def _safe(when: When, value: Any) -> str:
    """``when(value)``, or the value as it is when it is not a time."""
    try:
        return when(value)
    except (TypeError, ValueError):
        return str(value)


def problem_row(e: dict[str, Any]) -> dict[str, Any]:
    """One recorded problem as people read it: how serious, the reason in words, where, what to do."""
    where = str(e.get("origin") or "")
    if e.get("source_record_id"):
        where += f" (record {e['source_record_id']})"
    reason = reason_words(e.get("reason"))
    return {
        "kind": "error" if e.get("severity") == "error" else "warning",
        "what went wrong": sentence(reason[:1].upper() + reason[1:]),
        "where": where,
        "details": sentence(e.get("detail") or ""),
    }


def problem_rows(status: LibraryStatus) -> list[dict[str, Any]]:
    """Recent problems, one readable row each, with the run that recorded it."""
    return [{"run": e.get("run_id"), **problem_row(e)} for e in status.recent_errors]


def last_run_problems(status: LibraryStatus) -> str:
    """The last ingest run's problems, counted per reason: ``2 errors: the file is damaged ...; 1 warning: ...``."""
    parts = []
    for key, count in status.errors_by_reason.items():
        severity, _, reason = str(key).partition(": ")
        parts.append(f"{plural(count, 'error' if severity == 'error' else 'warning')}: {reason_words(reason)}")
    return "; ".join(parts)
