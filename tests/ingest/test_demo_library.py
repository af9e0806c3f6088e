"""The bundled demo library ingests cleanly, and the pipeline finds its planted properties.

Ground truth is ``data/tools/catalog.yaml`` (one entry per story, written with the data).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import query

from reffy.service import ReffyService

DATA = Path(__file__).resolve().parents[2] / "data"
CATALOG = yaml.safe_load((DATA / "tools" / "catalog.yaml").read_text(encoding="utf-8"))["stories"]


def story_id(origin: str, record_id: str | None) -> str:
    rel = Path(origin).relative_to(DATA).as_posix()
    return f"{rel}#{record_id.split('!')[-1]}" if record_id else rel


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from reffy.config import load_settings

    settings = load_settings(home=tmp_path_factory.mktemp("demo-home"))
    summary = ReffyService(settings).ingest([str(DATA)])
    return settings, summary


def test_every_catalogued_story_is_ingested_and_nothing_else(demo):
    settings, summary = demo
    assert summary.errors == 0 and summary.warnings == 0
    got = {story_id(o, r) for o, r in query(settings.home, "SELECT origin, source_record_id FROM bronze_current")}
    assert got == {entry["source"] for entry in CATALOG}
    assert len(got) >= 40


def test_demo_spans_formats_industries_and_countries(demo):
    settings, _ = demo
    types = {t for (t,) in query(settings.home, "SELECT DISTINCT source_type FROM bronze_current")}
    assert {"markdown", "html", "pdf", "docx", "pptx", "transcript", "csv", "xlsx", "jsonl", "text"} <= types
    assert len({e["industry"] for e in CATALOG}) >= 8 and len({str(e["country"]) for e in CATALOG}) >= 8
    assert sum(e["shareability"] == "internal" for e in CATALOG) >= 6


def test_the_planted_near_duplicate_pairs_are_grouped_and_nothing_else(demo):
    settings, summary = demo
    rows = query(settings.home, "SELECT origin, source_record_id, group_key FROM bronze_current")
    groups: dict[str, set[str]] = {}
    for origin, record_id, group in rows:
        groups.setdefault(group, set()).add(story_id(origin, record_id))
    found = {frozenset(g) for g in groups.values() if len(g) > 1}
    planted = {frozenset((e["source"], e["duplicate_of"])) for e in CATALOG if e.get("duplicate_of")}
    assert found == planted and len(planted) == 3
    assert summary.duplicates == 3


def test_spreadsheet_and_front_matter_metadata_survive(demo):
    settings, _ = demo
    share = dict(
        query(
            settings.home,
            "SELECT source_record_id, meta->>'shareability' FROM bronze_current WHERE source_type IN ('csv', 'xlsx')",
        )
    )
    assert share["REF-0106"] == "internal" and share["WIN-2024-006"] == "public"
    country = query(
        settings.home, "SELECT meta->>'country' FROM bronze_current WHERE origin LIKE '%halden-university.md'"
    )
    assert country == [("NO",)]  # quoted in YAML: not the boolean False


@pytest.fixture(scope="module")
def demo_gold(tmp_path_factory):
    """The demo library ingested, scored offline and built into gold (no search index)."""
    from reffy.config import load_settings

    settings = load_settings(
        home=tmp_path_factory.mktemp("demo-gold"), vendor_path=DATA / "vendor.yaml", score_workers=1
    )
    svc = ReffyService(settings)
    try:
        svc.ingest([str(DATA)])
        svc.score()
        return settings, svc.build()
    finally:
        svc.close()


def test_gold_holds_the_demo_stories_and_keeps_the_announcement_out(demo_gold):
    settings, summary = demo_gold
    held = query(settings.home, "SELECT origin, reason FROM gold_held JOIN bronze_current USING (record_key)")
    assert [(story_id(o, None), why) for o, why in held] == [
        ("notes/brightwater-credit-union-linkedin.txt", "an announcement, not a customer story (no result reported)")
    ]
    gold = {
        story_id(o, r)
        for o, r in query(
            settings.home,
            "SELECT b.origin, b.source_record_id FROM gold_stories g JOIN bronze_current b ON b.id = g.story_id",
        )
    }
    partner = {
        a: b
        for e in CATALOG
        if e.get("duplicate_of")
        for a, b in ((e["source"], e["duplicate_of"]), (e["duplicate_of"], e["source"]))
    }
    covered = gold | {partner[g] for g in gold if g in partner}  # a near-duplicate pair is one gold story
    rich = {e["source"] for e in CATALOG if e["quality"] == "rich"}
    assert rich <= covered, rich - covered
    assert summary.not_stories == 1 and summary.stories == len(gold) == 35 + summary.public_twins  # twins: issue 12
