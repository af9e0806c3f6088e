"""Gold build: threshold, summary, chunks, duplicates, shareability, overrides."""

from __future__ import annotations

import json

import pytest
from helpers import STORY, query, scalar, story

from ingest import shareability
from ingest.gold import build_gold, build_intro, build_summary, chunk_text, opening
from ingest.scoring.base import Scorer
from ingest.silver import score_library
from reffy.errors import OverrideError
from reffy.models import CriterionScore, Quote, ScoreResult, StoryMetadata
from reffy.rubric import load_rubric, load_taxonomy
from reffy.service import ReffyService

RUBRIC = load_rubric()


class FixedScorer(Scorer):
    """Gives each story the total in its front matter ('score: N'), spread over criteria."""

    scorer_key, prompt_version, concurrency = "llm:test", "t1", 1

    def score(self, story, criteria, want_metadata):
        target = int(story.meta.get("score", 0))
        crit = []
        for c in criteria:
            pts = min(c.points, target)
            target -= pts
            crit.append(CriterionScore(c.id, pts, c.points, "evidence", "fixed"))
        meta = StoryMetadata(
            customer="Nordvik Bank",
            country="DK",
            industry="finance",
            products=["Quillon Assist"],
            quotes=[Quote("We finally answer customers when they need us", "Maria Jensen", "Head of Customer Care")],
            outcomes=["Average handling time fell by 38 percent"],
            challenge="Customers waited.",
            solution="The bank deployed Quillon Assist.",
        )
        return ScoreResult(story.story_id, "llm", "test", "t1", crit, meta)

    def estimate(self, story, criteria):
        return 0, 0.0


def build(settings):
    return build_gold(settings, RUBRIC, load_taxonomy(), scorer_key="llm:test", prompt_version="t1")


def make(settings, tmp_path, files: dict[str, str]):
    root = tmp_path / "lib"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    svc = ReffyService(settings)
    svc.ingest([str(root)])
    score_library(settings, FixedScorer(), RUBRIC)
    return svc, root


def md(score: int, body: str, **front: str) -> str:
    fm = "".join(f"{k}: {v}\n" for k, v in {"score": score, **front}.items())
    return f"---\n{fm}---\n# Title {score}\n\n{body}\n"


def test_threshold_keeps_strong_stories_out_of_weak_ones(settings, tmp_path):
    make(settings, tmp_path, {"strong.md": md(25, story(1)), "weak.md": md(5, story(2)), "edge.md": md(12, story(3))})
    summary = build(settings)
    assert (summary.stories, summary.below_threshold, summary.candidates) == (2, 1, 3)
    assert {s for (s,) in query(settings.home, "SELECT score FROM gold_stories")} == {25, 12}


def test_gold_row_has_summary_breakdown_metadata_and_chunks(settings, tmp_path):
    make(settings, tmp_path, {"a.md": md(20, STORY * 6, shareability="public", link="https://quillon.example/x")})
    build(settings)
    row = query(
        settings.home,
        "SELECT customer, country, industry, products, shareability, shareability_reason,"
        " score, score_breakdown, summary, source_link, source_meta FROM gold_stories",
    )[0]
    customer, country, industry, products, share, why, score, breakdown, summary, link, source_meta = row
    assert (customer, country, industry, json.loads(products)) == ("Nordvik Bank", "DK", "finance", ["Quillon Assist"])
    assert (share, why, score, link) == ("public", "source metadata", 20, "https://quillon.example/x")
    assert sum(c["points"] for c in json.loads(breakdown)) == 20 and len(json.loads(breakdown)) == 15
    assert "Customer: Nordvik Bank" in summary and "Country: Denmark" in summary and "Maria Jensen" in summary
    assert json.loads(source_meta)["shareability"] == "public"  # source metadata kept beside extracted metadata
    chunks = query(settings.home, "SELECT chunk_index, start_char, text FROM gold_chunks ORDER BY chunk_index")
    assert len(chunks) >= 2 and chunks[0][1] == 0
    text = scalar(settings.home, "SELECT text FROM gold_stories")
    for _, start, chunk in chunks:
        assert text[start : start + len(chunk)] == chunk


def test_duplicates_become_one_gold_story_listing_the_copies(settings, tmp_path):
    make(settings, tmp_path, {"site.md": md(20, STORY), "copy.md": md(20, STORY, confidential="true")})
    build(settings)
    assert scalar(settings.home, "SELECT count(*) FROM gold_stories") == 1
    copies = json.loads(scalar(settings.home, "SELECT duplicates FROM gold_stories"))
    assert len(copies) == 1 and copies[0]["match"] in ("exact", "near")
    assert scalar(settings.home, "SELECT audience FROM gold_stories") == "all"


def test_an_internal_canonical_gets_its_public_twin_for_the_external_audience(settings, tmp_path):
    """The fuller internal write-up is the group's canonical; its published copy goes to gold too,
    as the external audience's copy, so external users do not lose the story."""
    published = STORY.replace(" attached", "")  # a near duplicate, shorter: not the canonical
    make(settings, tmp_path, {"internal/win.md": md(20, STORY), "site.md": md(20, published, shareability="public")})
    summary = build(settings)
    rows = query(
        settings.home,
        "SELECT regexp_extract(source_uri, '[^/]+$'), shareability, audience, duplicates"
        " FROM gold_stories ORDER BY audience DESC",
    )
    assert [r[:3] for r in rows] == [("win.md", "internal", "internal"), ("site.md", "public", "external")]
    assert [c["source_uri"].rsplit("/", 1)[1] for c in json.loads(rows[0][3])] == ["site.md"]
    assert (summary.stories, summary.public_twins, summary.candidates) == (2, 1, 1)
    # the twin was scored on its own text (silver has both), not given the canonical's evidence
    assert scalar(settings.home, "SELECT count(DISTINCT story_id) FROM silver_metadata") == 2


def test_folder_convention_and_default_make_stories_internal(settings, tmp_path):
    make(
        settings,
        tmp_path,
        {
            "internal/win.md": md(20, story(1)),
            "notes.md": md(20, story(2)),
            "pub.md": md(20, story(3), shareability="external"),
        },
    )
    build(settings)
    rows = dict(
        query(
            settings.home,
            "SELECT regexp_extract(source_uri, '[^/]+$'), shareability || ':' || shareability_reason FROM gold_stories",
        )
    )
    assert rows == {
        "win.md": "internal:folder convention",
        "notes.md": "internal:no explicit shareability: internal by default",
        "pub.md": "public:source metadata",
    }


def test_overrides_win_survive_rescoring_and_can_be_removed(settings, tmp_path):
    svc, root = make(settings, tmp_path, {"a.md": md(11, story(1))})
    assert build(settings).stories == 0  # 11 < 12
    svc.set_override(str(root / "a.md"), "points.products_named", "1", author="ann", reason="product is named")
    svc.set_override(str(root / "a.md"), "customer", "Nordvik Bank A/S", author="ann", reason="legal name")
    svc.set_override(str(root / "a.md"), "shareability", "public", author="ann", reason="approved by customer")
    build(settings)
    row = query(
        settings.home, "SELECT score, customer, shareability, shareability_reason, overridden_fields FROM gold_stories"
    )[0]
    assert row[:4] == (12, "Nordvik Bank A/S", "public", "analyst override")
    assert json.loads(row[4]) == ["customer", "points.products_named", "shareability"]
    score_library(settings, FixedScorer(), RUBRIC)  # rescoring changes nothing: cached, overrides kept
    assert build(settings).stories == 1
    assert svc.remove_override(str(root / "a.md"), "points.products_named")
    assert build(settings).stories == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("points.stakes", "5", "0 to 1"),
        ("points.nope", "1", "No criterion"),
        ("colour", "x", "Cannot override"),
        ("shareability", "maybe", "public' or 'internal"),
        ("points.stakes", "one", "whole number"),
    ],
)
def test_invalid_overrides_are_refused_with_a_reason(settings, tmp_path, field, value, message):
    svc, root = make(settings, tmp_path, {"a.md": md(20, story(1))})
    with pytest.raises(OverrideError, match=message):
        svc.set_override(str(root / "a.md"), field, value, author="x", reason="")


def test_override_on_unknown_story_is_refused(settings, tmp_path):
    svc, _ = make(settings, tmp_path, {"a.md": md(20, story(1))})
    with pytest.raises(OverrideError, match="No current story"):
        svc.set_override("no-such-story", "customer", "X", author="x", reason="")


@pytest.mark.parametrize(
    ("meta", "origin", "stype", "text", "expected"),
    [
        ({"shareability": "Internal"}, "/a/public/x.md", "markdown", "", ("internal", "source metadata")),
        ({"visibility": "external"}, "/a/internal/x.md", "markdown", "", ("public", "source metadata")),
        ({"keywords": ["country=ZA", "shareability=public"]}, "/a/x.docx", "docx", "", ("public", "source metadata")),
        ({"confidential": True}, "/a/x.md", "markdown", "", ("internal", "source metadata")),
        ({}, "/lib/Internal/deals/x.md", "markdown", "", ("internal", "folder convention")),
        ({}, "/lib/public/x.md", "markdown", "", ("public", "folder convention")),
        (
            {"fetched_from": "https://blog.example/post"},
            "https://blog.example/post",
            "web",
            "",
            ("public", "published web source on blog.example (a public domain)"),
        ),
        (
            {"fetched_from": "https://blog.example/post"},
            "https://blog.example/post",
            "web",
            "INTERNAL ONLY - do not share",
            ("internal", "the text marks it internal"),
        ),
        ({}, "/lib/x.pptx", "pptx", "", ("internal", "no explicit shareability: internal by default")),
    ],
)
def test_shareability_precedence(meta, origin, stype, text, expected):
    assert shareability.decide(meta, origin, stype, text, public_domains=["blog.example"]) == expected


@pytest.mark.parametrize(
    ("meta", "stype", "uri", "expected"),
    [
        ({"fetched_from": "https://www.stories.example/a"}, "web", None, "public"),  # a subdomain of a listed domain
        ({"fetched_from": "https://stories.example/a"}, "feed", None, "public"),
        ({"fetched_from": "https://evil-stories.example/a"}, "web", None, "internal"),  # not a subdomain
        ({"fetched_from": "https://stories.example.evil.test/a"}, "web", None, "internal"),
        (
            {"fetched_from": "https://intranet.corp/a"},
            "web",
            "https://stories.example/a",
            "internal",
        ),  # final host decides
        ({}, "web", "https://stories.example/a", "public"),  # ingested before fetched_from: the final URI
        ({}, "feed", "https://stories.example/a", "internal"),  # a feed entry's link is not where its text came from
        ({"fetched_from": "https://intranet.corp/a", "shareability": "public"}, "web", None, "public"),  # --meta wins
        ({}, "youtube", "https://www.youtube.com/watch?v=x", "public"),
    ],
)
def test_web_pages_are_public_only_on_listed_domains(meta, stype, uri, expected):
    listed = shareability.decide(
        meta, "https://origin.test/x", stype, "", public_domains=["stories.example"], source_uri=uri
    )
    assert listed[0] == expected
    if "shareability" not in meta and stype != "youtube":
        assert shareability.decide(meta, "https://origin.test/x", stype, "", source_uri=uri)[0] == "internal"


def test_scorer_can_downgrade_but_never_promote():
    assert (
        shareability.decide(
            {},
            "https://x.example/p",
            "web",
            "",
            "internal",
            public_domains=["x.example"],
            source_uri="https://x.example/p",
        )[0]
        == "internal"
    )
    assert shareability.decide({}, "/lib/x.md", "markdown", "", "public")[0] == "internal"


def test_summary_puts_facts_first_and_uses_a_source_abstract():
    meta = {
        "customer": "Acme",
        "country": "GB",
        "products": ["Quillon Flow"],
        "challenge": "Slow claims.",
        "outcomes": ["cut claims time by 40%"],
        "quotes": [{"text": "Great", "speaker": None, "role": None}],
    }
    summary = build_summary(
        "Acme story", meta, {"summary": "An editor-written abstract of the Acme story, long enough."}, "Insurance"
    )
    lines = summary.split("\n")
    assert lines[0] == "Acme story"
    assert lines[1] == "Customer: Acme | Industry: Insurance | Country: United Kingdom | Products: Quillon Flow"
    assert lines[2].startswith("An editor-written abstract") and "Outcomes: cut claims time by 40%" in summary


def test_intro_is_the_abstract_or_else_the_opening_paragraphs():
    meta = {"customer": "Nordvik Bank", "country": "DK"}
    body = (
        "# Nordvik Bank\n\n| metric | value |\n|---|---|\n\n"
        "- Nordvik Bank, a Danish retail bank, moved its contact centre to an assistant. "
        + "It works. " * 40
        + "\n\nDetails follow in a second paragraph that the opening may not need."
    )
    intro = build_intro("Faster answers", meta, {}, "Finance", body)
    lines = intro.split("\n")
    assert lines[0] == "Faster answers" and lines[1] == "Customer: Nordvik Bank | Industry: Finance | Country: Denmark"
    assert lines[2].startswith("Nordvik Bank, a Danish retail bank") and "|" not in lines[2] and "#" not in lines[2]
    abstract = "Nordvik Bank cut handling time by a third with an assistant in its contact centre."
    assert build_intro("Faster answers", meta, {"summary": abstract}, "Finance", body).split("\n")[2] == abstract
    long = opening("First sentence here. " * 100)
    assert len(long) <= 900 and long.endswith(".")  # cut at a sentence end
    assert opening("") == "" and opening("Short.") == "Short."


def test_chunks_cover_the_text_with_overlap():
    text = " ".join(f"word{i}" for i in range(2000))
    chunks = chunk_text(text, 500, 100)
    assert all(len(c) <= 500 for _, c in chunks) and len(chunks) > 20
    assert chunks[-1][1].endswith("word1999")
    assert all(text[s : s + len(c)] == c for s, c in chunks)


# -- non-stories: announcements, event posts, pages with neither customer nor result ------------
ANNOUNCEMENT = (
    "Big day for the team! 🎉\n\nSo proud to share that Brightwater Credit Union went live with Quillon "
    "Converse this week! Members can now get help from a digital assistant.\n\nHuge thanks to everyone "
    "who made it happen. Onwards! 🚀\n\n#CustomerExperience #CreditUnions #GoLive"
)


class StoryScorer(FixedScorer):
    """FixedScorer, with the metadata a page's front matter asks for: ``outcomes: none`` (no
    outcome lines), ``customer: none`` (no customer named or described)."""

    def score(self, story, criteria, want_metadata):
        result = super().score(story, criteria, want_metadata)
        if story.meta.get("outcomes") == "none":
            result.metadata.outcomes = []
        if story.meta.get("customer") == "none":
            result.metadata.customer = None
            for c in result.criteria:
                if c.criterion_id == "customer_named":
                    c.points = 0
        return result


def make_pages(settings, tmp_path, files: dict[str, str]):
    root = tmp_path / "lib"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    svc = ReffyService(settings)
    svc.ingest([str(root)])
    score_library(settings, StoryScorer(), RUBRIC)
    return svc, root


def test_an_announcement_without_a_result_is_kept_out_of_gold_with_its_reason(settings, tmp_path):
    svc, root = make_pages(
        settings,
        tmp_path,
        {
            "post.md": md(20, ANNOUNCEMENT, outcomes="none"),  # scores well: customer, products, a go-live
            "story.md": md(20, STORY),  # a real story with a result
            "post-with-result.md": md(
                20,
                "Huge thanks to the Lakeside Bank team! 🎉 " + story(7) + "\n\nSince go-live, call "
                "waiting times fell by 40%. Onwards! 🚀 #Banking #GoLive #AI",
            ),  # reports a result: a story
        },
    )
    summary = build(settings)
    assert (summary.stories, summary.not_stories, summary.below_threshold) == (2, 1, 0)
    held = query(settings.home, "SELECT regexp_extract(source_uri, '[^/]+$'), score, reason FROM gold_held")
    assert held == [("post.md", 20, "an announcement, not a customer story (no result reported)")]
    assert scalar(settings.home, "SELECT not_stories FROM gold_builds ORDER BY id DESC LIMIT 1") == 1
    status = svc.status()
    assert [(h["score"], h["reason"]) for h in status.held_back] == [(20, held[0][2])]
    assert status.last_gold_build["not_stories"] == 1
    svc.set_override(
        str(root / "post.md"), "gold", "include", author="ann", reason="the customer approved it as a story"
    )
    assert build(settings).stories == 3 and scalar(settings.home, "SELECT count(*) FROM gold_held") == 0
    svc.set_override(str(root / "story.md"), "gold", "exclude", author="ann", reason="superseded")
    build(settings)
    assert query(settings.home, "SELECT reason FROM gold_held") == [("kept out by an analyst",)]
    with pytest.raises(OverrideError, match="include"):
        svc.set_override(str(root / "story.md"), "gold", "maybe", author="ann", reason="")


def test_a_page_with_neither_customer_nor_result_is_not_a_story(settings, tmp_path):
    panel = (
        "Five speakers discussed agent platforms at the conference. They shared views on evaluation, on "
        "guardrails and on what they would build next, and they agreed that the field moves quickly."
    )
    make_pages(
        settings,
        tmp_path,
        {
            "panel.md": md(20, panel, outcomes="none", customer="none"),
            "weak.md": md(
                20,
                story(8) + " The team deployed an assistant and then cut review time by half.",
                outcomes="none",
                customer="none",
            ),
        },
    )
    summary = build(settings)
    assert (summary.stories, summary.not_stories) == (1, 1)
    assert query(settings.home, "SELECT regexp_extract(source_uri, '[^/]+$'), reason FROM gold_held") == [
        ("panel.md", "no customer and no result: not a customer story")
    ]


def test_not_a_story_rules():
    from ingest.extract.kind import not_a_story, post_markers, reports_result

    assert post_markers(ANNOUNCEMENT) == (7, 0)
    assert post_markers("Join us at our booth! Register now for the webinar.") == (0, 3)
    assert post_markers("Sales grew from 2020 onwards; the team is excited about Q3.") == (0, 0)
    assert (
        not_a_story("Big day", ANNOUNCEMENT, customer="Brightwater")
        == "an announcement, not a customer story (no result reported)"
    )
    assert not_a_story("Big day", ANNOUNCEMENT, customer="Brightwater", outcomes=["Waits fell by 40%"]) is None
    assert (
        not_a_story("Webinar", "Join us on 3 May! Register now: see you there.", customer="Acme")
        == "an event post, not a customer story (no result reported)"
    )
    assert (
        not_a_story("Acme builds a RAG system", "Acme deployed a retrieval system for its agents.", customer="Acme")
        is None
    )  # a customer and a solution but no result: a weak story, the threshold judges it
    assert (
        not_a_story("Panel", "Speakers discussed agents.", customer=None)
        == "no customer and no result: not a customer story"
    )
    assert not_a_story("Panel", "Speakers discussed agents.", customer=None, described_customer=True) is None
    assert reports_result("They wanted to help members faster. Quillon went live.", names=["Quillon"]) is False
    assert reports_result("Quillon went live. Waiting times have been much shorter since.", names=["Quillon"])


def test_summary_never_repeats_the_challenge_as_an_outcome():
    challenge = "By 2022 the average call took 9 minutes 40 seconds, up from seven minutes."
    meta = {
        "customer": "Nordvik Bank",
        "challenge": challenge,
        "solution": "The bank deployed Quillon Assist.",
        "outcomes": [f"The challenge {challenge}", "The bank deployed Quillon Assist", "Handling time fell by 38%"],
    }
    summary = build_summary("Nordvik", meta, {}, "Finance")
    assert summary.count("9 minutes 40 seconds") == 1 and summary.count("deployed Quillon Assist") == 1
    assert "Outcomes: Handling time fell by 38%" in summary


def test_gold_carries_what_search_reads_and_an_older_gold_asks_for_a_build(demo_home):
    """The gold build writes each story's introduction, display names, source label and chunker;
    the indexer reads them and computes nothing with pipeline code. A library whose gold predates
    those columns is refused by `reffy index` with the command that fixes it."""
    import duckdb

    from reffy.config import load_settings
    from reffy.errors import GoldOutdated
    from reffy.service import ReffyService

    [(intro, industry_name, country, chunker)] = query(
        demo_home,
        "SELECT intro, industry_name, country_name, chunker"
        " FROM gold_stories WHERE customer = 'Nordvik Bank'"
        " AND audience = 'internal'",
    )
    assert intro.startswith("How Nordvik Bank took almost four minutes off every call\nCustomer: Nordvik Bank")
    assert (industry_name, country, chunker) == ("Banking & financial services", "Denmark", "recursive-v1")
    con = duckdb.connect(str(demo_home / "reffy.duckdb"))
    con.execute("UPDATE gold_stories SET intro = NULL")  # as a gold built before migration 0005
    con.close()
    svc = ReffyService(load_settings(home=demo_home))
    try:
        with pytest.raises(GoldOutdated, match=r"run `reffy build`, then `reffy index`"):
            svc.index()
        svc.build()
        assert svc.index().stories > 0
    finally:
        svc.close()
