"""Compare every silver and gold row of two Reffy homes: did a change alter any output?

    python eval/compare_outputs.py HOME_A HOME_B

Score and build the same sources into two homes (one with the old code, one with the new),
then compare. Timestamps, latencies, run ids and row ids are left out; everything else
(criterion points, evidence, rationales, metadata JSON, call outcomes, gold stories,
summaries, chunks) must be equal. Exits 1 when any table differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

QUERIES = {
    "silver_criteria": "SELECT * EXCLUDE (scored_at) FROM silver_criteria ORDER BY story_id, scorer_key,"
    " prompt_version, criterion_id, criterion_hash",
    "silver_metadata": "SELECT * EXCLUDE (scored_at) FROM silver_metadata ORDER BY story_id, scorer_key, "
    "prompt_version",
    "scoring_calls": "SELECT story_id, scorer_key, prompt_version, status, reason, detail, criteria_scored,"
    " withdrawn_points, tokens_in, tokens_out, cost_usd FROM scoring_calls ORDER BY ALL",
    "gold_stories": "SELECT * EXCLUDE (built_at) FROM gold_stories ORDER BY story_id",
    "gold_chunks": "SELECT * FROM gold_chunks ORDER BY story_id, chunk_index",
}


def rows(home: Path, sql: str) -> tuple[list[str], list[tuple]]:
    con = duckdb.connect(str(home / "reffy.duckdb"), read_only=True)
    try:
        cur = con.execute(sql)
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("home_a", type=Path)
    parser.add_argument("home_b", type=Path)
    parser.add_argument("--show", type=int, default=3, help="differing rows shown per table")
    args = parser.parse_args()
    different = 0
    for table, sql in QUERIES.items():
        columns, a = rows(args.home_a, sql)
        _, b = rows(args.home_b, sql)
        same = a == b
        different += not same
        print(f"{table}: {len(a)} vs {len(b)} rows: {'identical' if same else 'DIFFERENT'}")
        if not same:
            only_a, only_b = sorted(set(a) - set(b), key=repr), sorted(set(b) - set(a), key=repr)
            print(f"  {len(only_a)} rows only in {args.home_a}, {len(only_b)} only in {args.home_b}")
            for label, found in (("-", only_a), ("+", only_b)):
                for row in found[: args.show]:
                    print(f"  {label} " + "; ".join(f"{c}={str(v)[:100]!r}" for c, v in zip(columns, row)))
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
