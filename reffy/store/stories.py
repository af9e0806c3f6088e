"""A gold story's history from the warehouse: its versions, duplicate group and overrides.

Read-only and short-lived: the story page asks for it on demand, and a warehouse locked
by a running ingest raises WarehouseLocked (the caller shows the page without it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reffy.store.warehouse import open_warehouse


def story_history(db_path: Path, story_id: str, record_key: str | None) -> dict[str, Any]:
    with open_warehouse(db_path, read_only=True) as con:
        if record_key is None:
            row = con.execute("SELECT record_key FROM gold_stories WHERE story_id = ?", [story_id]).fetchone()
            record_key = row[0] if row else None
        if record_key is None:
            return {}
        versions = [
            {
                "version": v,
                "id": i,
                "fetched_at": str(f),
                "superseded_at": str(s) if s else None,
                "removed_at": str(r) if r else None,
            }
            for v, i, f, s, r in con.execute(
                "SELECT version, id, fetched_at, superseded_at, removed_at FROM bronze_records"
                " WHERE record_key = ? ORDER BY version",
                [record_key],
            ).fetchall()
        ]
        dup = con.execute("SELECT duplicates FROM gold_stories WHERE story_id = ?", [story_id]).fetchone()
        overrides = [
            {"field": f, "value": json.loads(v), "author": a, "reason": r, "created_at": str(c)}
            for f, v, a, r, c in con.execute(
                "SELECT field, value, author, reason, created_at FROM overrides WHERE record_key = ? ORDER BY field",
                [record_key],
            ).fetchall()
        ]
    return {"versions": versions, "duplicates": json.loads(dup[0]) if dup else [], "overrides": overrides}
