"""Writing source records into bronze: versioning, supersession, removal.

The writer keeps the current version of every record key in memory (a few MB for
100k records) so each incoming record is classified without a query: *new*,
*updated* (a new version supersedes the old), or *unchanged* (only ``last_seen_at``
moves). Writes are buffered and committed in batches; a batch is one transaction,
so a killed process loses at most the batch in flight and the rerun redoes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from ingest.dedup import NUM_PERM, signature_bytes
from reffy.models import RawRecord

if TYPE_CHECKING:
    import duckdb

Outcome = Literal["new", "updated", "unchanged"]

# Columns of a bronze insert and their SQL types. Rows are sent column-wise through
# unnest(): about 6x faster than executemany for batches of long texts.
_COLUMNS = (
    ("record_key", "VARCHAR"),
    ("version", "INTEGER"),
    ("id", "VARCHAR"),
    ("text_hash", "VARCHAR"),
    ("origin", "VARCHAR"),
    ("source_uri", "VARCHAR"),
    ("source_type", "VARCHAR"),
    ("source_record_id", "VARCHAR"),
    ("title", "VARCHAR"),
    ("text", "VARCHAR"),
    ("meta", "VARCHAR"),
    ("fetched_at", "TIMESTAMPTZ"),
    ("first_seen_at", "TIMESTAMPTZ"),
    ("last_seen_at", "TIMESTAMPTZ"),
    ("run_id", "BIGINT"),
)
_INSERT = "INSERT INTO bronze_records ({}) SELECT {}".format(
    ", ".join(name for name, _ in _COLUMNS),
    ", ".join(f"unnest(?::{kind}[])" for _, kind in _COLUMNS),
)


@dataclass(slots=True)
class _Current:
    version: int
    content_hash: str
    origin: str
    removed: bool


@dataclass
class BronzeWriter:
    """Buffers bronze changes for one run and commits them in batches."""

    con: duckdb.DuckDBPyConnection
    run_id: int
    now: datetime
    batch_size: int = 200
    current: dict[str, _Current] = field(default_factory=dict)
    _inserts: list[tuple] = field(default_factory=list)
    _supersede: list[tuple[str, int, str]] = field(default_factory=list)
    _touch: list[str] = field(default_factory=list)
    _fingerprints: dict[str, str] = field(default_factory=dict)
    _by_origin: dict[str, set[str]] = field(default_factory=dict)
    _signed: set[str] = field(default_factory=set)
    _signatures: list[tuple[str, int, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        rows = self.con.execute(
            "SELECT record_key, version, id, origin, removed_at IS NOT NULL"
            " FROM bronze_records WHERE superseded_at IS NULL"
        ).fetchall()
        self.current = {key: _Current(ver, cid, origin, removed) for key, ver, cid, origin, removed in rows}
        for key, _, _, origin, _ in rows:
            self._by_origin.setdefault(origin, set()).add(key)
        self._signed = {r[0] for r in self.con.execute("SELECT text_hash FROM bronze_minhash").fetchall()}

    # -- classification -------------------------------------------------------------
    def add(self, record: RawRecord) -> Outcome:
        key, content_hash = record.record_key, record.content_hash
        known = self.current.get(key)
        if known is not None and known.content_hash == content_hash:
            self._touch.append(key)
            known.removed = False
            outcome: Outcome = "unchanged"
        else:
            version = 1 if known is None else known.version + 1
            if known is not None:
                self._supersede.append((key, known.version, content_hash))
            self._inserts.append(
                (
                    key,
                    version,
                    content_hash,
                    record.text_hash,
                    record.origin,
                    record.source_uri,
                    record.source_type,
                    record.source_record_id,
                    record.title,
                    record.text,
                    json.dumps(record.meta, ensure_ascii=False, default=str),
                    record.fetched_at,
                    self.now,
                    self.now,
                    self.run_id,
                )
            )
            self.current[key] = _Current(version, content_hash, record.origin, False)
            self._by_origin.setdefault(record.origin, set()).add(key)
            text_hash = record.text_hash
            if text_hash not in self._signed:  # sign while the text is in memory
                self._signed.add(text_hash)
                self._signatures.append((text_hash, NUM_PERM, signature_bytes(record.text)))
            outcome = "new" if known is None else "updated"
        if self.pending >= self.batch_size:
            self.flush()
        return outcome

    def touch_origin(self, origin: str) -> int:
        """Mark every present record of an unchanged origin as seen now."""
        keys = [k for k in self._by_origin.get(origin, ()) if not self.current[k].removed]
        self._touch.extend(keys)
        if self.pending >= self.batch_size:
            self.flush()
        return len(keys)

    def keys_of(self, origins: Iterable[str]) -> dict[str, str]:
        """record_key -> origin for present records whose origin is in ``origins``."""
        return {
            k: origin for origin in set(origins) for k in self._by_origin.get(origin, ()) if not self.current[k].removed
        }

    def present_keys(self) -> dict[str, str]:
        return {k: c.origin for k, c in self.current.items() if not c.removed}

    def remember_fingerprint(self, origin: str, fingerprint: str) -> None:
        """Store after every record of the origin is buffered: committed with them."""
        self._fingerprints[origin] = fingerprint

    def forget_fingerprint(self, origin: str) -> None:
        self._fingerprints.pop(origin, None)
        self.con.execute("DELETE FROM source_origins WHERE origin = ?", [origin])

    @property
    def pending(self) -> int:
        return len(self._inserts) + len(self._touch) + len(self._supersede)

    # -- writes -----------------------------------------------------------------------
    def mark_removed(self, keys: Iterable[str]) -> int:
        keys = [k for k in keys if k in self.current and not self.current[k].removed]
        if not keys:
            return 0
        self.flush()
        self.con.execute("BEGIN")
        self.con.execute(
            "UPDATE bronze_records SET removed_at = ? WHERE superseded_at IS NULL AND removed_at IS NULL"
            " AND record_key IN (SELECT unnest(?::VARCHAR[]))",
            [self.now, keys],
        )
        self.con.execute("COMMIT")
        for k in keys:
            self.current[k].removed = True
        return len(keys)

    def flush(self) -> None:
        if not (self.pending or self._fingerprints):
            return
        con = self.con
        con.execute("BEGIN")
        try:
            for key, version, new_id in self._supersede:
                con.execute(
                    "UPDATE bronze_records SET superseded_at = ?, superseded_by = ?"
                    " WHERE record_key = ? AND version = ?",
                    [self.now, new_id, key, version],
                )
            if self._inserts:
                con.execute(_INSERT, [list(col) for col in zip(*self._inserts, strict=True)])
            if self._signatures:
                hashes, perms, sigs = (list(col) for col in zip(*self._signatures, strict=True))
                con.execute(
                    "INSERT OR REPLACE INTO bronze_minhash"
                    " SELECT unnest(?::VARCHAR[]), unnest(?::INTEGER[]), unnest(?::BLOB[])",
                    [hashes, perms, sigs],
                )
            if self._touch:
                con.execute(
                    "UPDATE bronze_records SET last_seen_at = ?, removed_at = NULL"
                    " WHERE superseded_at IS NULL AND record_key IN (SELECT unnest(?::VARCHAR[]))",
                    [self.now, self._touch],
                )
            for origin, fingerprint in self._fingerprints.items():
                con.execute(
                    "INSERT OR REPLACE INTO source_origins VALUES (?, ?, ?, ?)",
                    [origin, fingerprint, self.run_id, self.now],
                )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        self._inserts.clear()
        self._supersede.clear()
        self._touch.clear()
        self._fingerprints.clear()
        self._signatures.clear()
