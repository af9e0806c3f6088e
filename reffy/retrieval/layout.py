"""The search index's layout on disk: one place that the writer (indexer.py) and the reader
(engine.py) both use, so file names, the format number, collection names and vector ids are
spelled once.

``REFFY_HOME/index/`` holds ``manifest.json`` (what built the index and how complete it is),
``docs.json`` (story cards), ``stories.sqlite`` (texts and evidence), ``bm25/`` and
``bm25_profile/`` (keyword views) and ``vectors.json`` (which stories' vectors are in Chroma,
by content hash). The vectors themselves live in three Chroma collections.

The manifest is written twice per build: once when the keyword side is complete
(``vectors: "building"``: keyword search works, hybrid falls back to keyword with a note) and
once when every vector is stored (``vectors: "complete"``). A killed build leaves
``"building"``, which the next search reports instead of silently serving a partial index.
Each write bumps ``generation``, so long-lived processes can notice a new build with one
``stat`` per request (see :func:`stamp`) and reload.

This module imports nothing heavy: the keyword path reads it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from reffy.errors import IndexMissing, IndexStale

# 2: summaries and chunks in two collections (unfiltered queries take HNSW's fast path)
# 3: a third collection of story introductions (title, facts, abstract or opening paragraphs)
# 4: the manifest records vector completeness and a generation (progressive availability)
INDEX_FORMAT = 4
COMPATIBLE_FORMATS = (3, 4)  # format 3 indexes read fine: they were only ever written complete
SUMMARY, INTRO, CHUNK = "summary", "intro", "chunk"
COLLECTIONS = {SUMMARY: "reffy_summaries", INTRO: "reffy_intros", CHUNK: "reffy_chunks"}

MANIFEST = "manifest.json"
DOCS = "docs.json"
BELOW = "below_threshold.json"  # stories gold left under the score threshold, for analysts' name look-ups
VECTOR_STATE = "vectors.json"
BM25_FULL = "bm25"
BM25_PROFILE = "bm25_profile"

VECTORS_BUILDING, VECTORS_COMPLETE = "building", "complete"


def vector_id(story_id: str, kind: str, n: int = 0) -> str:
    return f"{story_id}::{CHUNK}::{n}" if kind == CHUNK else f"{story_id}::{kind}"


def story_of(vector_id_: str) -> str:
    return vector_id_.split("::", 1)[0]


def kind_of(vector_id_: str) -> str:
    return next((kind for kind in (SUMMARY, INTRO) if vector_id_.endswith(f"::{kind}")), CHUNK)


def manifest_path(index_dir: Path) -> Path:
    return index_dir / MANIFEST


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The manifest, or {} when there is none (or it is unreadable mid-write on some filesystems)."""
    try:
        return json.loads(manifest_path(index_dir).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def write_json(path: Path, value: Any) -> None:
    """Atomic: readers see the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)


def record_calibration(index_dir: Path, calibration: dict[str, Any]) -> None:
    """Store the library's no-answer calibration in the manifest (``reffy tune``). Rewriting the
    manifest changes the index's stamp, so running servers reload with it; index updates carry
    it over."""
    manifest = read_manifest(index_dir)
    if not manifest:
        raise IndexMissing("No search index to tune yet: run `reffy index` first.")
    write_json(manifest_path(index_dir), {**manifest, "no_answer": calibration})


def stamp(index_dir: Path) -> tuple[int, int] | None:
    """A cheap identity of the current build (one ``stat``): it changes whenever the manifest is
    rewritten. None when there is no index."""
    try:
        st = manifest_path(index_dir).stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_ino


def vectors_complete(manifest: dict[str, Any]) -> bool:
    """Format-3 manifests hold the vector count under ``vectors`` and were written only after
    every vector was stored."""
    state = manifest.get("vectors", VECTORS_COMPLETE)
    return state == VECTORS_COMPLETE or (isinstance(state, int) and not isinstance(state, bool))


def builder_stamp() -> dict[str, Any]:
    """Who is building the vectors: recorded in a ``building`` manifest, so that a reader can tell
    a build in progress from one that was killed before it finished."""
    return {"builder_pid": os.getpid(), "builder_host": os.uname().nodename}


def build_stopped(manifest: dict[str, Any]) -> bool:
    """Whether an unfinished vector build is known to have stopped (its process on this machine
    is gone). False when it is complete, still running, or was started elsewhere."""
    pid = manifest.get("builder_pid")
    if vectors_complete(manifest) or not isinstance(pid, int) or manifest.get("builder_host") != os.uname().nodename:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def check_format(manifest: dict[str, Any], home: Path) -> None:
    if not manifest:
        raise IndexMissing(f"No search index in {home} yet: run `reffy index` (or `reffy run SOURCE`).")
    if manifest.get("format") not in COMPATIBLE_FORMATS:
        raise IndexStale(f"The search index in {home} has an older layout: run `reffy index --rebuild`.")


def check_compatible(stored: dict[str, Any], wanted: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Raise IndexStale naming the first of ``keys`` on which the stored manifest differs."""
    for key in keys:
        if stored.get(key) != wanted.get(key):
            raise IndexStale(
                f"The index was built with {key} {stored.get(key)!r}, not {wanted.get(key)!r}: "
                "run `reffy index --rebuild`."
            )
