"""The review queue: recent searches and answers as an analyst reads them, page by page.

An item is a search (a ``query_log`` row of kind ``search``) or an answer (an ``assistant`` row of
``messages`` in a live conversation, beside the question before it). Asks are also in the query
log, but the answer row holds what was shown (text, citations, verification removals), so asks are
read from there and not twice. Items are ordered newest first and read a page at a time
(``LIMIT``/``OFFSET`` over the two indexed branches of one ``UNION ALL``; v4 of the history schema
adds the ``(kind, created_at)`` and ``(role, created_at)`` indexes), so 10,000 messages are never
loaded at once.

Feedback: an answer's thumbs are those on its message. A search has no message, so a thumbs-down
counts for it when its user gave one to a story of its hits within ``FEEDBACK_WINDOW`` after it.

Marks and notes live in ``review_marks`` (history schema v4), keyed by the item id
(``search:<id>`` / ``answer:<id>``). This module owns the SQL; who may read it and which story
titles an audience may see are decided by the service.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from reffy.errors import ConfigError

if TYPE_CHECKING:
    from reffy.history import HistoryStore

ONLY = ("thumbs-down", "no-answer", "removals", "unreviewed")
KINDS = ("search", "answer")
FEEDBACK_WINDOW = "+1 hour"  # SQLite date modifier: a card's thumbs-down counts for the search before it
MAX_PAGE = 500
_SINCE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_ITEM = re.compile(r"^(search|answer):(\d+)$")


def parse_since(text: str | None, now: datetime) -> datetime | None:
    """``7d``, ``24h``, ``2w`` or an ISO date (``2026-11-01``) as the moment the queue starts."""
    if text is None or not str(text).strip():
        return None
    if m := _SINCE.match(str(text)):
        n, unit = int(m.group(1)), m.group(2).lower()
        return now - timedelta(hours=n) * {"h": 1, "d": 24, "w": 24 * 7}[unit]
    try:
        moment = datetime.fromisoformat(str(text).strip())
    except ValueError as exc:
        raise ConfigError(
            f"--since takes a period such as 7d, 24h or 2w, or a date such as 2026-11-01; not {text!r}."
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which items the queue shows. ``only``: one of ONLY (None: everything)."""

    since: datetime | None = None
    until: datetime | None = None
    only: str | None = None
    user: str | None = None
    kind: str | None = None

    def __post_init__(self) -> None:
        if self.only is not None and self.only not in ONLY:
            raise ConfigError(f"Unknown review filter {self.only!r}: use one of {', '.join(ONLY)}.")
        if self.kind is not None and self.kind not in KINDS:
            raise ConfigError(f"Unknown item kind {self.kind!r}: use one of {', '.join(KINDS)}.")


def parse_item(item: str) -> tuple[str, int]:
    m = _ITEM.match(str(item).strip())
    if not m:
        raise ConfigError(
            f"Not a review item: {item!r}. Items look like search:123 or answer:45 (`reffy review` lists them)."
        )
    return m.group(1), int(m.group(2))


def _iso(moment: datetime) -> str:
    from reffy.history import _iso as history_iso

    return history_iso(moment)


_SEARCH_DOWN = (
    "EXISTS (SELECT 1 FROM feedback f WHERE f.user = q.user AND f.rating < 0 AND f.message_id IS NULL"
    " AND f.created_at >= q.created_at"
    f" AND f.created_at <= strftime('%Y-%m-%dT%H:%M:%f+00:00', q.created_at, '{FEEDBACK_WINDOW}')"
    " AND f.story_id IN (SELECT value FROM json_each(q.hit_ids)))"
)
_ANSWER_DOWN = "EXISTS (SELECT 1 FROM feedback f WHERE f.message_id = m.id AND f.rating < 0)"


def _branches(f: QueueFilter) -> tuple[str, dict[str, Any]]:
    """The ``UNION ALL`` of the two kinds, each filtered on its own indexed columns."""
    params: dict[str, Any] = {}
    search_where = ["q.kind = 'search'"]
    answer_where = ["m.role = 'assistant'", "c.deleted_at IS NULL"]
    for prefix, where in (("q", search_where), ("m", answer_where)):
        if f.since is not None:
            where.append(f"{prefix}.created_at >= :since")
            params["since"] = _iso(f.since)
        if f.until is not None:
            where.append(f"{prefix}.created_at <= :until")
            params["until"] = _iso(f.until)
    if f.user:
        search_where.append("q.user = :user")
        answer_where.append("c.user = :user")
        params["user"] = f.user
    if f.only == "no-answer":
        search_where.append("(q.no_answer = 1 OR q.hit_ids IN ('[]', '') OR q.hit_ids IS NULL)")
        answer_where.append("m.no_answer = 1")
    elif f.only == "removals":
        search_where.append("0")
        answer_where.append("json_array_length(m.meta, '$.removed') > 0")
    elif f.only == "thumbs-down":
        search_where.append(_SEARCH_DOWN)
        answer_where.append(_ANSWER_DOWN)
    elif f.only == "unreviewed":
        search_where.append(
            "NOT EXISTS (SELECT 1 FROM review_marks r WHERE r.item = 'search:' || q.id AND r.reviewed_at IS NOT NULL)"
        )
        answer_where.append(
            "NOT EXISTS (SELECT 1 FROM review_marks r WHERE r.item = 'answer:' || m.id AND r.reviewed_at IS NOT NULL)"
        )
    if f.kind == "search":
        answer_where.append("0")
    elif f.kind == "answer":
        search_where.append("0")
    search = (
        "SELECT 'search' AS kind, q.id AS row_id, q.created_at, q.user, q.query AS question, q.mode, q.audience,"
        " q.channel, q.filters, q.hit_ids, q.cited, q.no_answer, q.latency_ms, NULL AS answer, NULL AS meta,"
        " NULL AS model, NULL AS error, NULL AS conversation_id"
        f" FROM query_log q WHERE {' AND '.join(search_where)}"
    )
    answer = (
        "SELECT 'answer', m.id, m.created_at, c.user,"
        " (SELECT u.content FROM messages u WHERE u.conversation_id = m.conversation_id AND u.id < m.id"
        "  AND u.role = 'user' ORDER BY u.id DESC LIMIT 1),"
        " m.mode, m.audience, NULL, m.filters, json_extract(m.meta, '$.hit_ids'), m.cited, m.no_answer,"
        " m.latency_ms, m.content, m.meta, m.model, m.error, m.conversation_id"
        f" FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE {' AND '.join(answer_where)}"
    )
    return f"{search} UNION ALL {answer}", params


def count(history: HistoryStore, f: QueueFilter) -> int:
    sql, params = _branches(f)
    return int(history._rows(f"SELECT COUNT(*) AS n FROM ({sql})", params)[0]["n"])


def page(history: HistoryStore, f: QueueFilter, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """One page of items, newest first: each with its question, what was shown, flags, the
    people's feedback and the analyst's mark. Story ids only: titles are the service's to add."""
    if not 1 <= limit <= MAX_PAGE:
        raise ConfigError(f"A review page holds 1 to {MAX_PAGE} items, not {limit}.")
    if offset < 0:
        raise ConfigError("The page offset cannot be negative.")
    sql, params = _branches(f)
    rows = history._rows(
        f"SELECT * FROM ({sql}) ORDER BY created_at DESC, kind, row_id DESC LIMIT :limit OFFSET :offset",
        params | {"limit": limit, "offset": offset},
    )
    items = [_item(r) for r in rows]
    _attach_feedback(history, items)
    _attach_marks(history, items)
    return items


def _loads(value: Any, default: Any) -> Any:
    if not value:
        return default
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return default


def _item(row: dict[str, Any]) -> dict[str, Any]:
    meta = _loads(row.pop("meta"), {})
    row["item"] = f"{row['kind']}:{row['row_id']}"
    row["filters"] = _loads(row["filters"], {})
    row["hit_ids"] = _loads(row["hit_ids"], []) if isinstance(row["hit_ids"], str) else (row["hit_ids"] or [])
    row["cited"] = _loads(row["cited"], [])
    row["no_answer"] = bool(row["no_answer"]) or (row["kind"] == "search" and not row["hit_ids"])
    row["removed"] = list(meta.get("removed") or [])
    row["llm_error"] = meta.get("llm_error")
    row["question"] = row["question"] or ""
    return row


def _attach_feedback(history: HistoryStore, items: list[dict[str, Any]]) -> None:
    for item in items:
        item["feedback"] = []
    answers = {i["row_id"]: i for i in items if i["kind"] == "answer"}
    if answers:
        marks = ",".join("?" * len(answers))
        for f in history._rows(
            f"SELECT message_id, user, rating, comment, created_at FROM feedback WHERE message_id IN ({marks})"
            " ORDER BY id",
            list(answers),
        ):
            answers[f.pop("message_id")]["feedback"].append(f)
    for item in items:
        if item["kind"] != "search" or not item["hit_ids"]:
            continue
        item["feedback"] = history._rows(
            "SELECT story_id, user, rating, comment, created_at FROM feedback q WHERE user = ? AND message_id IS NULL"
            f" AND created_at >= ? AND created_at <= strftime('%Y-%m-%dT%H:%M:%f+00:00', ?, '{FEEDBACK_WINDOW}')"
            f" AND story_id IN ({','.join('?' * len(item['hit_ids']))}) ORDER BY id",
            [item["user"], item["created_at"], item["created_at"], *item["hit_ids"]],
        )
    for item in items:
        item["thumbs_down"] = sum(1 for f in item["feedback"] if f["rating"] < 0)
        item["thumbs_up"] = sum(1 for f in item["feedback"] if f["rating"] > 0)


def _attach_marks(history: HistoryStore, items: list[dict[str, Any]]) -> None:
    if not items:
        return
    found = {
        r["item"]: r
        for r in history._rows(
            f"SELECT * FROM review_marks WHERE item IN ({','.join('?' * len(items))})", [i["item"] for i in items]
        )
    }
    for item in items:
        mark = found.get(item["item"]) or {}
        item["reviewed"] = bool(mark.get("reviewed_at"))
        item["reviewed_by"] = mark.get("reviewed_by") if mark.get("reviewed_at") else None
        item["reviewed_at"] = mark.get("reviewed_at")
        item["note"] = mark.get("note")


def exists(history: HistoryStore, item: str) -> bool:
    kind, row_id = parse_item(item)
    if kind == "search":
        return bool(history._rows("SELECT 1 FROM query_log WHERE id = ? AND kind = 'search'", [row_id]))
    return bool(
        history._rows(
            "SELECT 1 FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE m.id = ? AND m.role = 'assistant' AND c.deleted_at IS NULL",
            [row_id],
        )
    )


def mark(
    history: HistoryStore, item: str, analyst: str, *, reviewed: bool | None = True, note: str | None = None
) -> dict[str, Any]:
    """Mark ``item`` reviewed (or not, with ``reviewed=False``; ``None`` leaves it) and/or set its
    note (``""`` clears it; ``None`` leaves it). Returns the mark."""
    parse_item(item)
    now = history._now()

    def write(db: Any) -> dict[str, Any]:
        current = (list(db.query("SELECT * FROM review_marks WHERE item = ?", [item])) or [{}])[0]
        row = {
            "item": item,
            "reviewed_by": current.get("reviewed_by"),
            "reviewed_at": current.get("reviewed_at"),
            "note": current.get("note"),
            "note_by": current.get("note_by"),
            "updated_at": now,
        }
        if reviewed is True:
            row["reviewed_by"], row["reviewed_at"] = analyst, now
        elif reviewed is False:
            row["reviewed_by"], row["reviewed_at"] = None, None
        if note is not None:
            row["note"], row["note_by"] = (note.strip() or None), (analyst if note.strip() else None)
        db.table("review_marks").upsert(row, pk="item")
        return row

    return history._write(write)


def summary(history: HistoryStore, f: QueueFilter) -> dict[str, int]:
    """Counts for the digest: items, searches, answers, and each flag, over the filter's period."""
    base = QueueFilter(since=f.since, until=f.until, user=f.user)
    sql, params = _branches(base)
    totals = history._rows(
        f"SELECT COUNT(*) AS items, SUM(kind = 'search') AS searches, SUM(kind = 'answer') AS answers,"
        f" SUM(no_answer = 1 OR (kind = 'search' AND hit_ids IN ('[]', ''))) AS no_answer FROM ({sql})",
        params,
    )[0]
    out = {k: int(v or 0) for k, v in totals.items()}
    for only in ("thumbs-down", "removals", "unreviewed"):
        out[only.replace("-", "_")] = count(history, QueueFilter(since=f.since, until=f.until, user=f.user, only=only))
    out["reviewed"] = out["items"] - out.pop("unreviewed")
    return out
