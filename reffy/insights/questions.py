"""The questions of a period, as themes count them: every search and ask of the query log, with
whether it found no strong story and whether its asker gave it a thumbs-down.

A thumbs-down belongs to an ask when its user rated the answer to the same question (feedback
records the question it answered); to a search when its user gave one to a story of its hits within
the hour after it (the review queue's rule). This module owns that SQL; nothing here decides who
may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from reffy.insights.review import FEEDBACK_WINDOW

if TYPE_CHECKING:
    from reffy.history import HistoryStore


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    user: str
    kind: str
    created_at: str
    no_answer: bool
    thumbs_down: bool


_SQL = (
    "SELECT q.query AS text, q.user, q.kind, q.created_at,"
    " (q.no_answer = 1 OR q.hit_ids IN ('[]', '') OR q.hit_ids IS NULL) AS no_answer,"
    " CASE WHEN q.kind = 'ask' THEN EXISTS (SELECT 1 FROM feedback f WHERE f.user = q.user AND f.rating < 0"
    "   AND f.message_id IS NOT NULL AND f.query = q.query AND f.created_at >= q.created_at)"
    " ELSE EXISTS (SELECT 1 FROM feedback f WHERE f.user = q.user AND f.rating < 0 AND f.message_id IS NULL"
    "   AND f.created_at >= q.created_at"
    f"   AND f.created_at <= strftime('%Y-%m-%dT%H:%M:%f+00:00', q.created_at, '{FEEDBACK_WINDOW}')"
    "   AND f.story_id IN (SELECT value FROM json_each(q.hit_ids))) END AS thumbs_down"
    " FROM query_log q WHERE q.created_at >= ? AND q.created_at < ? ORDER BY q.id"
)


def questions(history: HistoryStore, since: datetime, until: datetime) -> list[Question]:
    """Searches and asks logged in [since, until)."""
    from reffy.history import _iso

    rows = history._rows(_SQL, [_iso(since), _iso(until)])
    return [
        Question(
            text=r["text"] or "",
            user=r["user"],
            kind=r["kind"],
            created_at=r["created_at"],
            no_answer=bool(r["no_answer"]),
            thumbs_down=bool(r["thumbs_down"]),
        )
        for r in rows
        if (r["text"] or "").strip()
    ]
