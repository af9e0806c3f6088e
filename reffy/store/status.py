"""Read-only summaries of the warehouse: what is in each layer and what recent runs did."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reffy.models import LibraryStatus

if TYPE_CHECKING:
    import duckdb


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def library_status(
    con: duckdb.DuckDBPyConnection, home: str, *, runs: int = 5, errors: int = 10, held_limit: int = 50
) -> LibraryStatus:
    layers = dict(
        zip(
            ["bronze records", "bronze stories (after duplicates)", "bronze versions", "removed records"],
            con.execute(
                "SELECT"
                " count(*) FILTER (WHERE superseded_at IS NULL AND removed_at IS NULL),"
                " (SELECT count(*) FROM bronze_current WHERE is_canonical),"
                " count(*),"
                " count(*) FILTER (WHERE superseded_at IS NULL AND removed_at IS NOT NULL)"
                " FROM bronze_records"
            ).fetchall()[0],
            strict=True,
        )
    )
    layers.update(
        zip(
            ["silver scored story versions", "gold stories", "gold public", "gold chunks"],
            con.execute(
                "SELECT (SELECT count(DISTINCT story_id) FROM silver_metadata), count(*),"
                " count(*) FILTER (WHERE shareability = 'public'), (SELECT count(*) FROM gold_chunks) FROM gold_stories"
            ).fetchall()[0],
            strict=True,
        )
    )
    by_type = dict(
        con.execute("SELECT source_type, count(*) FROM bronze_current GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
    )
    recent_runs = _dicts(
        con.execute(
            "SELECT id, started_at, status, sources, seen, new, updated, unchanged, removed, errors, warnings,"
            " duplicates, round(duration_s, 2) AS duration_s FROM ingest_runs ORDER BY id DESC LIMIT ?",
            [runs],
        )
    )
    recent_errors = _dicts(
        con.execute(
            "SELECT run_id, severity, reason, origin, source_record_id, detail FROM ingest_errors"
            " ORDER BY id DESC LIMIT ?",
            [errors],
        )
    )
    last_run = recent_runs[0]["id"] if recent_runs else None
    by_reason = dict(
        con.execute(
            "SELECT severity || ': ' || reason, count(*) FROM ingest_errors WHERE run_id = ? GROUP BY 1 ORDER "
            "BY 2 DESC",
            [last_run],
        ).fetchall()
    )
    scoring = _dicts(
        con.execute(
            "SELECT id, started_at, status, scorer_key, rubric_version, scored, cached, failed, tokens_in, tokens_out,"
            " round(cost_usd, 4) AS cost_usd, round(duration_s, 2) AS duration_s FROM scoring_runs"
            " ORDER BY id DESC LIMIT ?",
            [runs],
        )
    )
    builds = _dicts(
        con.execute(
            "SELECT built_at, scorer_key, rubric_version, min_score, candidates, unscored, below_threshold,"
            " coalesce(not_stories, 0) AS not_stories, stories, chunks FROM gold_builds ORDER BY id DESC LIMIT 1"
        )
    )
    held = _dicts(
        con.execute(
            "SELECT story_id, title, customer, score, reason, source_uri FROM gold_held"
            " ORDER BY score DESC, title LIMIT ?",
            [held_limit],
        )
    )
    return LibraryStatus(
        home,
        layers,
        by_type,
        recent_runs,
        recent_errors,
        by_reason,
        scoring,
        builds[0] if builds else None,
        held_back=held,
    )


def run_problems(con: duckdb.DuckDBPyConnection, run_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The problems one ingest run recorded, errors first, in the order they happened."""
    return _dicts(
        con.execute(
            "SELECT severity, reason, origin, source_record_id, detail FROM ingest_errors WHERE run_id = ?"
            " ORDER BY severity = 'warning', id LIMIT ?",
            [run_id, limit],
        )
    )
