"""Analysts' corrections to scores and metadata. They live in their own table, keyed by
the source record, win over any scorer's output at gold build, and survive rescoring."""

from __future__ import annotations

import json
from typing import Any

from reffy.errors import ReffyError
from reffy.models import utcnow
from reffy.rubric import Rubric

METADATA_FIELDS = {"customer", "country", "industry", "products", "competitors", "shareability", "title"}
LIST_FIELDS = {"products", "competitors"}


class OverrideError(ReffyError):
    exit_code = 2


def parse_value(field: str, raw: str, rubric: Rubric) -> Any:
    """Validate and convert a value typed by an analyst."""
    if field.startswith("points."):
        criterion_id = field.split(".", 1)[1]
        try:
            criterion = rubric.criterion(criterion_id)
        except KeyError:
            ids = ", ".join(c.id for c in rubric.criteria)
            raise OverrideError(f"No criterion '{criterion_id}' in rubric {rubric.version}; one of: {ids}") from None
        try:
            points = int(raw)
        except ValueError:
            raise OverrideError(f"Points must be a whole number, got {raw!r}") from None
        if not 0 <= points <= criterion.points:
            raise OverrideError(f"'{criterion_id}' is worth 0 to {criterion.points} points, got {points}")
        return points
    if field not in METADATA_FIELDS:
        raise OverrideError(
            f"Cannot override '{field}': use one of {', '.join(sorted(METADATA_FIELDS))} or points.<criterion_id>"
        )
    if field == "shareability" and raw not in ("public", "internal"):
        raise OverrideError("shareability must be 'public' or 'internal'")
    if field == "country":
        return raw.upper()
    if field in LIST_FIELDS:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def resolve_story(con, ref: str) -> tuple[str, str]:
    """(record_key, title) of the current story a user refers to: a record key, a story id
    (prefix of at least 8 characters), a source record id (e.g. a slug) or a file path."""
    rows = con.execute(
        "SELECT DISTINCT record_key, title FROM bronze_current WHERE record_key = ? OR source_record_id = ?"
        " OR origin = ? OR (length(?) >= 8 AND id LIKE ? || '%')",
        [ref, ref, ref, ref, ref],
    ).fetchall()
    if not rows:
        raise OverrideError(f"No current story matches {ref!r}: give a story id, a source record id or a file path")
    if len(rows) > 1:
        raise OverrideError(f"{ref!r} matches {len(rows)} stories; use the story id shown by `reffy overrides`")
    return rows[0]


def set_override(con, ref: str, field: str, raw: str, rubric: Rubric, *, author: str, reason: str) -> dict[str, Any]:
    record_key, title = resolve_story(con, ref)
    value = parse_value(field, raw, rubric)
    con.execute(
        "INSERT OR REPLACE INTO overrides VALUES (?, ?, ?, ?, ?, ?)",
        [record_key, field, json.dumps(value), author, reason, utcnow()],
    )
    return {"record_key": record_key, "title": title, "field": field, "value": value}


def remove_override(con, ref: str, field: str) -> bool:
    record_key, _ = resolve_story(con, ref)
    return bool(con.execute("DELETE FROM overrides WHERE record_key = ? AND field = ? RETURNING 1",
                            [record_key, field]).fetchall())  # fmt: skip


def list_overrides(con) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT o.record_key, b.title, o.field, o.value, o.author, o.reason, o.created_at FROM overrides o"
        " LEFT JOIN (SELECT DISTINCT record_key, title FROM bronze_current) b USING (record_key) ORDER BY o.created_at"
    ).fetchall()
    keys = ("record_key", "title", "field", "value", "author", "reason", "created_at")
    return [dict(zip(keys, (*r[:3], json.loads(r[3]), *r[4:]), strict=True)) for r in rows]


def overrides_by_record(con) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, field, value in con.execute("SELECT record_key, field, value FROM overrides").fetchall():
        out.setdefault(key, {})[field] = json.loads(value)
    return out
