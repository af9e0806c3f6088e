"""The DuckDB warehouse: one file in ``REFFY_HOME`` holding every layer.

Tables (created by the numbered SQL files in ``migrations/``, applied in order and
recorded in ``schema_migrations``):

``bronze_records``
    One row per *version* of each source record. ``record_key`` = hash(origin,
    source_record_id) is the record's identity; ``id`` is the content hash of the version.
    A changed source adds version n+1 and stamps ``superseded_at``/``superseded_by`` on
    version n; a record its source no longer has gets ``removed_at``. Nothing is deleted.
``bronze_current`` (view)
    The newest, still-present version of each record, with its duplicate group.
``ingest_runs`` / ``ingest_errors``
    One row per ``reffy ingest`` run with its counts and duration; one row per problem
    (reason code, severity, readable detail) so bad input is visible, never silent.
``source_origins``
    Fingerprint of each origin as last ingested completely, to skip unchanged files.
``bronze_minhash`` / ``duplicate_groups``
    MinHash signatures per distinct text, and the exact/near-duplicate grouping that
    names one canonical record per story.

DuckDB allows one writing process at a time: connections are short-lived, and a
second writer gets :class:`~reffy.errors.WarehouseLocked` with a message that says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

from reffy.errors import WarehouseError, WarehouseLocked
from reffy.models import utcnow

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """All migrations shipped with Reffy as (version, name, sql), in order."""
    found = []
    for entry in resources.files("reffy.store.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseLocked(
                f"The warehouse {path} is in use by another Reffy process ({exc}). "
                "Wait for that run to finish, or stop it, and try again."
            ) from exc
        raise WarehouseError(f"Cannot open the warehouse {path}: {exc}") from exc


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations, each in its own transaction. Returns the names applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in migrations():
        if version in done:
            continue
        con.execute("BEGIN")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, utcnow()])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(f"{version:04d}_{name}")
    return applied


@contextmanager
def open_warehouse(
    db_path: Path, *, read_only: bool = False, must_exist: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated connection to the warehouse, closed on exit.

    Opening a warehouse that does not exist yet for reading (or with ``must_exist``)
    raises a WarehouseError that tells the user to ingest something first.
    """
    if (read_only or must_exist) and not db_path.exists():
        raise WarehouseError(f"No Reffy library at {db_path.parent} yet: run `reffy ingest SOURCE` first.")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = _connect(db_path, read_only)
    try:
        if not read_only:
            apply_migrations(con)
        yield con
    finally:
        con.close()
