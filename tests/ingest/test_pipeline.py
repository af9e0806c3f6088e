"""Bronze semantics end to end: idempotence, versions, removal, duplicates, run records."""

from __future__ import annotations

import os
import time
from pathlib import Path

from helpers import STORY, query, scalar, story, write_jsonl

from reffy.config import Settings
from reffy.service import ReffyService


def ingest(settings: Settings, *specs: Path | str, **kwargs):
    return ReffyService(settings).ingest([str(s) for s in specs], **kwargs)


def make_library(root: Path, n: int = 5) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"story{i}.md").write_text(f"---\ntitle: Story {i}\ncountry: DK\n---\n{story(i)}\n", encoding="utf-8")
    return root


def test_first_ingest_writes_one_row_per_story_with_provenance(settings, tmp_path):
    lib = make_library(tmp_path / "lib")
    summary = ingest(settings, lib)
    assert (summary.seen, summary.new, summary.errors, summary.status) == (5, 5, 0, "completed")
    rows = query(
        settings.home,
        "SELECT title, source_type, origin, source_uri, meta->>'country', version FROM bronze_current ORDER BY title",
    )
    assert [r[0] for r in rows] == [f"Story {i}" for i in range(5)]
    _, source_type, origin, uri, country, version = rows[0]
    assert source_type == "markdown" and country == "DK" and version == 1
    assert origin == str(lib / "story0.md") and uri == (lib / "story0.md").as_uri()
    run = query(settings.home, "SELECT status, seen, new, duration_s FROM ingest_runs")[0]
    assert run[:3] == ("completed", 5, 5) and run[3] > 0


def test_rerun_adds_nothing_and_skips_unchanged_files(settings, tmp_path):
    lib = make_library(tmp_path / "lib")
    ingest(settings, lib)
    again = ingest(settings, lib)
    assert (again.seen, again.new, again.updated, again.unchanged, again.removed) == (0, 0, 0, 5, 0)
    assert scalar(settings.home, "SELECT count(*) FROM bronze_records") == 5
    # the rerun moved last_seen_at forward for every record
    assert scalar(settings.home, "SELECT count(*) FROM bronze_records WHERE last_seen_at > first_seen_at") == 5


def test_touched_but_identical_file_is_unchanged(settings, tmp_path):
    lib = make_library(tmp_path / "lib")
    ingest(settings, lib)
    os.utime(lib / "story1.md", (time.time() + 5, time.time() + 5))  # new mtime, same bytes
    again = ingest(settings, lib)
    assert (again.seen, again.new, again.updated, again.unchanged) == (1, 0, 0, 5)


def test_edited_source_becomes_a_new_version_superseding_the_old(settings, tmp_path):
    lib = make_library(tmp_path / "lib")
    ingest(settings, lib)
    path = lib / "story2.md"
    path.write_text(path.read_text() + "\nAn added paragraph with results.\n", encoding="utf-8")
    summary = ingest(settings, lib)
    assert (summary.new, summary.updated) == (0, 1)
    versions = query(
        settings.home,
        "SELECT version, id, superseded_at IS NOT NULL, superseded_by FROM bronze_records"
        " WHERE origin = ? ORDER BY version",
        [str(path)],
    )
    assert [v[0] for v in versions] == [1, 2]
    assert versions[0][2] is True and versions[0][3] == versions[1][1]
    assert versions[1][2] is False
    current = query(settings.home, "SELECT text FROM bronze_current WHERE origin = ?", [str(path)])
    assert len(current) == 1 and "added paragraph" in current[0][0]


def test_front_matter_change_alone_is_a_new_version(settings, tmp_path):
    lib = make_library(tmp_path / "lib", 1)
    ingest(settings, lib)
    p = lib / "story0.md"
    p.write_text(p.read_text().replace("country: DK", "country: SE"), encoding="utf-8")
    assert ingest(settings, lib).updated == 1
    assert scalar(settings.home, "SELECT meta->>'country' FROM bronze_current") == "SE"


def test_deleted_source_is_marked_removed_not_deleted_and_comes_back(settings, tmp_path):
    lib = make_library(tmp_path / "lib")
    ingest(settings, lib)
    gone = lib / "story3.md"
    saved = gone.read_text()
    gone.unlink()
    summary = ingest(settings, lib)
    assert summary.removed == 1
    assert scalar(settings.home, "SELECT count(*) FROM bronze_current") == 4
    assert scalar(settings.home, "SELECT removed_at IS NOT NULL FROM bronze_records WHERE origin = ?", [str(gone)])
    gone.write_text(saved, encoding="utf-8")
    back = ingest(settings, lib)
    assert (back.new, back.updated) == (0, 0)
    assert scalar(settings.home, "SELECT count(*) FROM bronze_current") == 5
    assert scalar(settings.home, "SELECT count(*) FROM bronze_records") == 5


def test_ingesting_a_subfolder_only_removes_within_that_subfolder(settings, tmp_path):
    make_library(tmp_path / "lib" / "a", 2)
    make_library(tmp_path / "lib" / "b", 2)
    ingest(settings, tmp_path / "lib")
    summary = ingest(settings, tmp_path / "lib" / "a")
    assert summary.removed == 0
    assert scalar(settings.home, "SELECT count(*) FROM bronze_current") == 4


def test_row_removed_from_a_jsonl_file_is_marked_removed(settings, tmp_path):

    rows = [{"slug": f"s{i}", "title": f"T{i}", "body": story(i)} for i in range(3)]
    path = write_jsonl(tmp_path / "s.jsonl", rows)
    ingest(settings, path)
    write_jsonl(path, rows[:2])
    summary = ingest(settings, path)
    assert summary.removed == 1 and summary.unchanged == 2
    assert {r[0] for r in query(settings.home, "SELECT source_record_id FROM bronze_current")} == {"s0", "s1"}


def test_exact_duplicates_across_sources_collapse_into_one_story(settings, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "site.md").write_text(f"---\ntitle: Nordvik Bank\n---\n{STORY}\n", encoding="utf-8")
    (lib / "notes.txt").write_text(f"{STORY}\n", encoding="utf-8")
    summary = ingest(settings, lib)
    assert summary.new == 2 and summary.duplicates == 1
    groups = query(settings.home, "SELECT group_key, is_canonical, duplicate_match FROM bronze_current ORDER BY 2")
    assert groups[0][0] == groups[1][0]
    assert sorted(g[2] for g in groups) == ["canonical", "exact"]
    assert scalar(settings.home, "SELECT count(*) FROM bronze_current WHERE is_canonical") == 1


def test_near_duplicates_are_grouped_and_distinct_stories_are_not(settings, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    edited = STORY.replace("struggled with long queues", "was fighting long queues") + " Read more on our blog."
    (lib / "site.md").write_text(f"# Nordvik Bank cuts waiting times\n\n{STORY}\n", encoding="utf-8")
    (lib / "medium.txt").write_text(f"How Nordvik Bank did it\n\n{edited}\n", encoding="utf-8")
    (lib / "other.txt").write_text(story(7) + "\n", encoding="utf-8")
    summary = ingest(settings, lib)
    assert summary.duplicates == 1
    rows = dict(query(settings.home, "SELECT origin, duplicate_match FROM bronze_current"))
    assert rows[str(lib / "other.txt")] == "unique"
    assert {rows[str(lib / "site.md")], rows[str(lib / "medium.txt")]} == {"canonical", "near"}
    sim = scalar(settings.home, "SELECT duplicate_similarity FROM bronze_current WHERE duplicate_match = 'near'")
    assert 0.7 <= sim < 1.0


def test_ingest_runs_record_each_run(settings, tmp_path):
    lib = make_library(tmp_path / "lib", 2)
    ingest(settings, lib)
    ingest(settings, lib)
    runs = query(settings.home, "SELECT id, status, new, unchanged FROM ingest_runs ORDER BY id")
    assert runs == [(1, "completed", 2, 0), (2, "completed", 0, 2)]


def test_a_crashing_connector_is_recorded_and_other_sources_still_ingest(settings, tmp_path):
    from ingest.sources.files import FolderSource

    class Broken:
        name, scope = "broken://source", None

        def read(self, ctx):
            raise RuntimeError("boom")
            yield  # pragma: no cover

    lib = make_library(tmp_path / "lib", 2)
    summary = ReffyService(settings).ingest(["x"], sources=[Broken(), FolderSource(lib)])
    assert summary.new == 2 and summary.errors == 1
    reason, detail = query(settings.home, "SELECT reason, detail FROM ingest_errors")[0]
    assert reason == "internal" and "RuntimeError: boom" in detail


def test_declared_source_metadata_applies_to_every_record_but_record_fields_win(settings, tmp_path):
    lib = make_library(tmp_path / "lib", 2)
    (lib / "story1.md").write_text(f"---\ntitle: Story 1\nshareability: internal\n---\n{story(1)}\n", encoding="utf-8")
    ingest(settings, lib, extra_meta={"shareability": "public", "campaign": "q4"})
    rows = dict(
        query(settings.home, "SELECT title, meta->>'shareability' || '/' || (meta->>'campaign') FROM bronze_current")
    )
    assert rows == {"Story 0": "public/q4", "Story 1": "internal/q4"}
