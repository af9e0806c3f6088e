"""Full story texts and rubric evidence next to the search index (``index/stories.sqlite``).

Answering needs each retrieved story's full text (passages for the model, and the ground
truth every quoted sentence is checked against); story pages need the rubric evidence.
Serving reads them from this snapshot, written by ``reffy index`` with the other index
artefacts, instead of from the DuckDB warehouse, whose single-writer lock an ingest holds.
SQLite allows any number of concurrent readers, from any process.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FILENAME = "stories.sqlite"


def write_docstore(
    index_dir: Path, rows: Iterable[tuple[str, str, list[dict[str, Any]], list[tuple[int, str]]]]
) -> None:
    """Replace the docstore atomically with (story_id, text, score breakdown, chunks) rows."""
    tmp = index_dir / (FILENAME + ".tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        con.execute(
            "CREATE TABLE stories (story_id TEXT PRIMARY KEY, text TEXT NOT NULL, breakdown TEXT NOT NULL,"
            " chunks TEXT NOT NULL)"
        )
        con.executemany(
            "INSERT INTO stories VALUES (?, ?, ?, ?)",
            ((sid, text, json.dumps(breakdown), json.dumps(chunks)) for sid, text, breakdown, chunks in rows),
        )
        con.commit()
    finally:
        con.close()
    tmp.replace(index_dir / FILENAME)


class DocStore:
    """Read-only lookups by story id; one connection per thread."""

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / FILENAME
        self._local = threading.local()

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.con = con
        return con

    def get(self, story_id: str) -> dict[str, Any] | None:
        row = (
            self._con()
            .execute("SELECT text, breakdown, chunks FROM stories WHERE story_id = ?", (story_id,))
            .fetchone()
        )
        if row is None:
            return None
        return {"text": row[0], "breakdown": json.loads(row[1]), "chunks": [tuple(c) for c in json.loads(row[2])]}

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
