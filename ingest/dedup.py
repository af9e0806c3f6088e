"""Exact and near-duplicate grouping of current bronze records.

The same story often exists more than once: the website case study and its Medium
repost, the DOCX and the PDF export of one write-up. Nothing is dropped: every current
record gets a row in ``duplicate_groups`` naming its group's canonical record, so later
layers score and show one story per group while keeping every copy's provenance.

* exact: equal ``text_hash`` (normalised text), across any sources;
* near: MinHash over word 3-gram shingles with LSH (datasketch), estimated Jaccard at
  or above ``settings.near_dup_threshold``. Signatures are cached per text hash.

Canonical record of a group: the longest text (the fullest telling), then the earliest
first seen, then the record key, so the choice is deterministic.

The canonical is the group's story for everyone who may see it. When it may not be shown
publicly but another member may (the internal case study and its published twin), the
external audience would lose the story altogether; so each such group also names its
*public twin* (:func:`public_twins`): the best member (same order) that is public on its own
terms. It is scored and goes to gold too, served to the external audience in place of the
canonical. An analyst's ``shareability`` override counts as the member's own verdict; one
that makes the canonical internal withdraws the whole group from the external audience.
"""

from __future__ import annotations

import json
import re
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import duckdb

NUM_PERM = 128
SCHEME = "affine32"  # datasketch >= 2 needs the scheme to rebuild cached signatures
# Shingles are pre-hashed (see shingle_hashes) instead of datasketch's per-item SHA-1,
# which cost ~3 s per 1,500 stories; datasketch's mixing and affine permutations on top
# provide the independence MinHash needs.
SHINGLE_WORDS = 3
MIN_SHINGLES = 20  # texts shorter than this are grouped only when identical
_WORD = re.compile(r"\w+", re.UNICODE)
_BATCH = 20_000


def shingle_hashes(text: str, size: int = SHINGLE_WORDS) -> np.ndarray:
    """Distinct 32-bit hashes of the word ``size``-grams of ``text``.

    Words are hashed once with CRC32 (C speed, stable across processes) and combined
    arithmetically in numpy, instead of hashing every shingle string in Python.
    """
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return np.empty(0, dtype=np.uint64)
    wh = np.fromiter((zlib.crc32(w.encode("utf-8")) for w in words), dtype=np.uint64, count=len(words))
    combined = np.zeros(len(words) - size + 1, dtype=np.uint64)
    for i in range(size):
        combined = combined * np.uint64(0x01000193) + wh[i : len(words) - size + 1 + i]
    return np.unique(combined & np.uint64(0xFFFFFFFF))


def signature_bytes(text: str) -> bytes:
    """Signature as stored in ``bronze_minhash`` (empty for texts too short to compare)."""
    sig = signature(text)
    return sig.tobytes() if sig is not None else b""


def signature(text: str) -> np.ndarray | None:
    from datasketch import MinHash

    hashes = shingle_hashes(text)
    if len(hashes) < MIN_SHINGLES:
        return None
    mh = MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME, hashfunc=int)
    for start in range(0, len(hashes), _BATCH):  # update_batch builds a shingles x NUM_PERM matrix:
        mh.update_batch(hashes[start : start + _BATCH])  # in batches it stays ~20 MB for any text
    return mh.hashvalues.astype(np.uint64)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def regroup(con: duckdb.DuckDBPyConnection, threshold: float) -> int:
    """Recompute ``duplicate_groups`` for all current records. Returns the number of
    records that are duplicates of another (non-canonical members)."""
    from datasketch import MinHash, MinHashLSH

    rows = con.execute(
        "SELECT record_key, text_hash, length(text), first_seen_at FROM bronze_records"
        " WHERE superseded_at IS NULL AND removed_at IS NULL"
    ).fetchall()
    _cache_signatures(con, {th for _, th, _, _ in rows})
    sigs = {
        th: np.frombuffer(blob, dtype=np.uint64)
        for th, blob in con.execute("SELECT text_hash, signature FROM bronze_minhash").fetchall()
        if blob
    }

    uf = _UnionFind()
    by_text: dict[str, list[str]] = defaultdict(list)
    for key, th, _, _ in rows:
        uf.find(key)
        by_text[th].append(key)
    for keys in by_text.values():
        for other in keys[1:]:
            uf.union(keys[0], other)

    # Banding tuned for recall (a missed pair is a story shown twice); every candidate is
    # verified against the estimated Jaccard below, so extra candidates cost only time.
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, weights=(0.1, 0.9))
    minhashes: dict[str, MinHash] = {}
    for th, hv in sigs.items():
        if th in by_text:
            mh = MinHash(num_perm=NUM_PERM, seed=1, hashvalues=hv, scheme=SCHEME)
            minhashes[th] = mh
            lsh.insert(th, mh)
    similarity: dict[frozenset[str], float] = {}
    for th, mh in minhashes.items():
        for other in lsh.query(mh):
            if other == th:
                continue
            jac = mh.jaccard(minhashes[other])
            if jac >= threshold:
                uf.union(by_text[th][0], by_text[other][0])
                similarity[frozenset((th, other))] = jac

    info = {key: (th, length, seen) for key, th, length, seen in rows}
    groups: dict[str, list[str]] = defaultdict(list)
    for key in info:
        groups[uf.find(key)].append(key)

    out = []
    duplicates = 0
    for members in groups.values():
        canonical = min(members, key=lambda k: (-info[k][1], info[k][2], k))
        cth = info[canonical][0]
        for key in members:
            th = info[key][0]
            if key == canonical:
                match, sim = ("unique" if len(members) == 1 else "canonical"), 1.0
            elif th == cth:
                match, sim = "exact", 1.0
            else:
                match = "near"
                known = similarity.get(frozenset((th, cth)))
                if known is not None:
                    sim = known
                else:
                    sim = minhashes[th].jaccard(minhashes[cth]) if th in minhashes and cth in minhashes else 0.0
            duplicates += key != canonical
            out.append((key, canonical, key == canonical, match, float(sim)))

    con.execute("BEGIN")
    con.execute("DELETE FROM duplicate_groups")
    if out:
        con.executemany("INSERT INTO duplicate_groups VALUES (?, ?, ?, ?, ?)", out)
    con.execute("COMMIT")
    return duplicates


# Overrides a public twin takes from its group's canonical: facts about the story, which an
# analyst corrected on the copy they see (never the canonical's shareability or points).
INHERITED_OVERRIDES = ("customer", "country", "industry", "products", "competitors", "title")


@dataclass(frozen=True, slots=True)
class Twin:
    """A group's public twin: its bronze row and its group's canonical record key."""

    story_id: str
    record_key: str
    group_key: str
    canonical_key: str


def public_twins(
    con: duckdb.DuckDBPyConnection, overrides: dict[str, dict[str, Any]], public_domains: Sequence[str]
) -> dict[str, Twin]:
    """{group_key: Twin} for every group whose canonical is not public by its source (metadata,
    folder, source nature, its own text, or an override) but a member is. Scorers' verdicts are
    not known here (the twin's own is applied at gold build); they only ever make a story
    internal, reading the text the group's members share, so a group whose canonical is public
    by its source is given no twin."""
    from ingest.shareability import decide

    rows = con.execute(
        "SELECT id, record_key, group_key, is_canonical, text, meta, origin, source_type, source_uri, first_seen_at"
        " FROM bronze_current WHERE group_key IN (SELECT group_key FROM duplicate_groups GROUP BY group_key"
        " HAVING count(*) > 1) ORDER BY group_key, record_key"
    ).fetchall()

    def public(key: str, text: str, meta: str, origin: str, stype: str, uri: str) -> bool:
        if "shareability" in overrides.get(key, {}):
            return overrides[key]["shareability"] == "public"
        return (
            decide(json.loads(meta), origin, stype, text, public_domains=public_domains, source_uri=uri)[0] == "public"
        )

    groups: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        groups[row[2]].append(row)
    twins = {}
    for group, members in groups.items():
        canonical = next((m for m in members if m[3]), None)
        if canonical is None or public(canonical[1], *canonical[4:9]):
            continue
        if overrides.get(canonical[1], {}).get("shareability") == "internal":
            continue  # an analyst withdrew this story: no copy of it goes public
        candidates = [m for m in members if not m[3] and public(m[1], *m[4:9])]
        if candidates:
            best = min(candidates, key=lambda m: (-len(m[4]), m[9], m[1]))
            twins[group] = Twin(best[0], best[1], group, canonical[1])
    return twins


def _cache_signatures(con: duckdb.DuckDBPyConnection, text_hashes: set[str]) -> None:
    known = {row[0] for row in con.execute("SELECT text_hash FROM bronze_minhash").fetchall()}
    missing = list(text_hashes - known)
    if not missing:
        return
    texts = con.execute(
        "SELECT DISTINCT ON (text_hash) text_hash, text FROM bronze_records"
        " WHERE text_hash IN (SELECT unnest(?::VARCHAR[]))",
        [missing],
    ).fetchall()
    rows = [(th, NUM_PERM, signature_bytes(text)) for th, text in texts]
    con.execute("BEGIN")
    con.executemany("INSERT OR REPLACE INTO bronze_minhash VALUES (?, ?, ?)", rows)
    con.execute("COMMIT")
