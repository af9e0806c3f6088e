"""Analysts' corrections to scores and metadata. They live in their own table, keyed by
the source record, win over any scorer's output at gold build, and survive rescoring."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from reffy.errors import AmbiguousId, OverrideError
from reffy.ids import MAX_LISTED, distinct_prefixes, is_prefix, resolve_prefix
from reffy.models import utcnow
from reffy.rubric import Rubric
from reffy.wording import plural

METADATA_FIELDS = {"customer", "country", "industry", "products", "competitors", "shareability", "title", "gold"}
LIST_FIELDS = {"products", "competitors"}


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
    if field == "gold" and raw not in ("include", "exclude"):
        raise OverrideError("gold must be 'include' (a customer story, whatever the story check says) or 'exclude'")
    if field == "country":
        return raw.upper()
    if field in LIST_FIELDS:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def resolve_story(con, ref: str, *, cwd: Path | None = None) -> tuple[str, str]:
    """(record_key, title) of the current story a user refers to, tried in this order: a record
    key, source record id (e.g. a slug) or source path, exactly (a relative path is taken from
    ``cwd``, default the working directory); a story id or an unambiguous prefix of one (what
    search and ``reffy overrides`` print); a file name or the end of a path (``nordvik-bank.md``,
    ``blog/nordvik-bank.md``) that one source ends with. Several matches are refused with the
    candidates listed (``AmbiguousId``)."""
    ref = ref.strip()
    if not ref:
        raise OverrideError("Say which story: a story id, a source record id, or the source file's path or name.")
    base = Path(cwd) if cwd is not None else Path.cwd()
    given = Path(ref).expanduser()
    given = given if given.is_absolute() else base / given
    paths = list(dict.fromkeys([ref, os.path.abspath(given), str(given.resolve())]))
    marks = ", ".join("?" * len(paths))
    rows = con.execute(
        "SELECT DISTINCT record_key, title FROM bronze_current WHERE record_key = ? OR source_record_id = ?"
        f" OR origin IN ({marks})",
        [ref, ref, *paths],
    ).fetchall()
    if len(rows) == 1:
        return rows[0]
    if not rows and is_prefix(ref):
        found = con.execute(
            "SELECT id, record_key, title FROM bronze_current WHERE id LIKE ? || '%' ORDER BY is_canonical",
            [ref.lower()],
        ).fetchall()  # canonical copies win
        if found:
            by_id = {i: (key, title) for i, key, title in found}
            return by_id[resolve_prefix(ref, by_id, label=lambda i: by_id[i][1])]
    if not rows and "%" not in ref:
        name = ref.replace(os.sep, "/")
        while name.startswith(("./", "../")):
            name = name.split("/", 1)[1]
        like = con.execute(
            "SELECT DISTINCT record_key, title, origin, source_record_id FROM bronze_current"
            " WHERE origin LIKE '%' || ?",
            [name],
        ).fetchall()
        ends = [r for r in like if r[2].replace(os.sep, "/") == name or r[2].replace(os.sep, "/").endswith("/" + name)]
        if len(ends) == 1:
            return ends[0][:2]
        rows = ends
    if not rows:
        raise OverrideError(
            f"No current story matches {ref!r}: give a story id (search prints its first 12 "
            "characters), a source record id, or the source file's path or name."
        )
    raise AmbiguousId(_ambiguous(con, ref, [r[0] for r in rows]))


def _ambiguous(con, ref: str, keys: list[str]) -> str:
    """What to type instead, for a reference that names several stories: their story ids and
    titles, and the source record ids or paths that tell them apart."""
    marks = ", ".join("?" * len(keys))
    rows = con.execute(
        f"SELECT id, title, origin, source_record_id FROM bronze_current WHERE record_key IN ({marks})"
        " ORDER BY origin, source_record_id",
        keys,
    ).fetchall()
    origins = {r[2] for r in rows}
    shown = distinct_prefixes(r[0] for r in rows)

    def name(row: tuple) -> str:
        where = row[3] if len(origins) == 1 and row[3] else row[2]
        return f"{shown[row[0]]} ({row[1]}; {where})"

    listed = "; ".join(name(r) for r in rows[:MAX_LISTED])
    more = f"; and {len(rows) - MAX_LISTED} more" if len(rows) > MAX_LISTED else ""
    return (
        f"{ref!r} matches {plural(len(rows), 'story')}: {listed}{more}. Give one story id, a source record id "
        "or the whole path."
    )


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
    return bool(
        con.execute(
            "DELETE FROM overrides WHERE record_key = ? AND field = ? RETURNING 1", [record_key, field]
        ).fetchall()
    )


def list_overrides(con) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT o.record_key, b.id, b.title, o.field, o.value, o.author, o.reason, o.created_at FROM overrides o"
        " LEFT JOIN (SELECT DISTINCT record_key, id, title FROM bronze_current) b USING (record_key)"
        " ORDER BY o.created_at"
    ).fetchall()
    keys = ("record_key", "story_id", "title", "field", "value", "author", "reason", "created_at")
    return [dict(zip(keys, (*r[:4], json.loads(r[4]), *r[5:]), strict=True)) for r in rows]


def overrides_by_record(con) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, field, value in con.execute("SELECT record_key, field, value FROM overrides").fetchall():
        out.setdefault(key, {})[field] = json.loads(value)
    return out
