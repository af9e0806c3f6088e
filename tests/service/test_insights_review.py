"""The review queue on a real SQLite history: paging through 10,000 items a page at a time, the
filters, marks and notes, feedback attribution, and the governance the service decides (analysts
only; an external view names no internal-only story and withholds internal answers)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from querylog import NOW, generate, write_log

from reffy.auth import LOCAL_USER, Role, User
from reffy.errors import ConfigError, NotFound, PermissionDenied
from reffy.history import HistoryStore
from reffy.insights import review
from reffy.service import ReffyService

ANALYST = User("ana", Role.analyst)


@pytest.fixture
def history(tmp_path) -> HistoryStore:
    store = HistoryStore(tmp_path / "history.sqlite", clock=lambda: NOW)
    yield store
    store.close()


def test_ten_thousand_items_page_through_without_loading_them_all(history):
    rows = generate(10_000, seed=5)
    write_log(history, rows, hit_ids=["a" * 64, "b" * 64, "c" * 64, "d" * 64])
    queue = review.QueueFilter()
    assert review.count(history, queue) == 10_000
    statements: list[str] = []
    history.conn.set_trace_callback(statements.append)
    seen: list[str] = []
    largest = 0
    for offset in range(0, 10_000, 500):
        page = review.page(history, queue, limit=500, offset=offset)
        largest = max(largest, len(page))
        seen.extend(i["item"] for i in page)
    history.conn.set_trace_callback(None)
    assert len(seen) == len(set(seen)) == 10_000  # every item once
    assert largest == 500
    assert sum(i.startswith("answer:") for i in seen) == sum(r["kind"] == "ask" for r in rows)
    reads = [s for s in statements if "UNION ALL" in s and "COUNT(*)" not in s]
    assert reads and all("LIMIT 500 OFFSET" in s for s in reads)  # each read asks SQLite for one page only
    first = review.page(history, queue, limit=5)
    assert [i["created_at"] for i in first] == sorted((i["created_at"] for i in first), reverse=True)
    assert first[0]["created_at"] == max(r["created_at"] for r in rows).isoformat(timespec="milliseconds")


def test_filters_select_thumbs_down_no_answer_removals_people_and_dates(history):
    rows = generate(400, seed=9)
    write_log(history, rows, hit_ids=["a" * 64, "b" * 64, "c" * 64])
    asks = [r for r in rows if r["kind"] == "ask"]

    def items(**kw):
        queue = review.QueueFilter(**kw)
        return review.page(history, queue, limit=500), review.count(history, queue)

    down, n = items(only="thumbs-down")
    assert n == sum(r["thumbs_down"] for r in asks) == len(down) > 0
    assert all(i["kind"] == "answer" and i["thumbs_down"] == 1 and i["feedback"][0]["rating"] == -1 for i in down)
    empty, n = items(only="no-answer")
    assert n == sum(r["no_answer"] for r in rows) and all(i["no_answer"] for i in empty)
    removed, n = items(only="removals")
    assert n == len(removed) > 0 and all(i["removed"] == ["[2]"] for i in removed)
    mine, n = items(user="user03")
    assert n == sum(r["user"] == "user03" for r in rows) and {i["user"] for i in mine} == {"user03"}
    week, n = items(since=NOW - timedelta(days=7))
    assert n == sum(r["created_at"] >= NOW - timedelta(days=7) for r in rows) > 0
    assert min(i["created_at"] for i in week) >= (NOW - timedelta(days=7)).isoformat()
    answers, n = items(kind="answer")
    assert n == len(asks) and all(i["answer"] and i["question"] for i in answers)
    with pytest.raises(ConfigError, match="thumbs-down, no-answer, removals, unreviewed"):
        review.QueueFilter(only="thumbsdown")


def log_search(history: HistoryStore, user: str, query: str, hits: list[str], **kw) -> int:
    return history.log_query(
        user,
        query,
        kind="search",
        mode="hybrid",
        audience="internal",
        channel="app",
        filters={},
        hit_ids=hits,
        no_answer=False,
        latency_ms=50,
        **kw,
    )


def test_a_thumbs_down_on_a_card_counts_for_the_search_before_it_within_the_hour(history):
    log_search(history, "mo", "bank call time", ["s1", "s2"], now=NOW - timedelta(hours=3))
    log_search(history, "mo", "bank call time again", ["s2"], now=NOW - timedelta(minutes=10))
    history.add_feedback("mo", -1, story_id="s2", comment="old story")  # at NOW: 10 minutes after the second
    down = review.page(history, review.QueueFilter(only="thumbs-down"), limit=10)
    assert [i["question"] for i in down] == ["bank call time again"]
    assert down[0]["feedback"][0]["comment"] == "old story"


def test_marks_and_notes_are_kept_and_taken_back(history):
    write_log(history, generate(30, seed=2))
    item = review.page(history, review.QueueFilter(), limit=1)[0]["item"]
    review.mark(history, item, "ana", note="wrong customer on the first hit")
    got = review.page(history, review.QueueFilter(), limit=1)[0]
    assert got["reviewed"] and got["reviewed_by"] == "ana" and got["note"] == "wrong customer on the first hit"
    assert review.count(history, review.QueueFilter(only="unreviewed")) == 29
    review.mark(history, item, "bo", reviewed=False)
    got = review.page(history, review.QueueFilter(), limit=1)[0]
    assert not got["reviewed"] and got["note"] == "wrong customer on the first hit"  # the note stays
    review.mark(history, item, "bo", reviewed=None, note="")
    assert review.page(history, review.QueueFilter(), limit=1)[0]["note"] is None
    with pytest.raises(ConfigError, match="search:123 or answer:45"):
        review.mark(history, "message 4", "ana")


def test_since_reads_periods_and_dates_and_says_what_it_takes():
    assert review.parse_since("7d", NOW) == NOW - timedelta(days=7)
    assert review.parse_since("24h", NOW) == NOW - timedelta(hours=24)
    assert review.parse_since("2w", NOW) == NOW - timedelta(days=14)
    assert review.parse_since("2026-11-01", NOW).isoformat().startswith("2026-11-01T00:00")
    with pytest.raises(ConfigError, match="7d, 24h or 2w"):
        review.parse_since("last week", NOW)


# -- through the service: governance ----------------------------------------------------------------
@pytest.fixture
def svc(demo_settings):
    service = ReffyService(demo_settings)
    yield service
    service.close()


def _internal_and_public(svc: ReffyService) -> tuple[str, str]:
    docs = svc.engine.docs
    internal = next(d.story_id for d in docs if d.shareability == "internal")
    public = next(d.story_id for d in docs if d.shareability == "public")
    return internal, public


def test_the_queue_and_themes_are_for_analysts_and_the_refusal_names_the_role(svc):
    svc.search("bank that cut call handling time", mode="keyword", user=User("mo", Role.member))
    for who in (User("vi", Role.viewer), User("mo", Role.member)):
        with pytest.raises(PermissionDenied, match="needs the analyst role or higher"):
            svc.review_queue(who)
        with pytest.raises(PermissionDenied, match="analyst role"):
            svc.insights(who)
        with pytest.raises(PermissionDenied, match="analyst role"):
            svc.review_mark(who, "search:1")
    page = svc.review_queue(ANALYST)
    assert page["total"] == 1 and page["items"][0]["question"] == "bank that cut call handling time"
    assert page["items"][0]["hits"][0]["title"]


def test_an_external_view_names_no_internal_only_story_and_withholds_internal_answers(svc):
    internal, public = _internal_and_public(svc)
    log_search(svc.history, "mo", "which bank", [internal, public])
    answer = svc.answer("Which bank reduced call handling time?", user=User("mo", Role.member))
    assert answer.text
    inside = svc.review_queue(ANALYST)
    outside = svc.review_queue(ANALYST, audience="external")
    search_in = next(i for i in inside["items"] if i["kind"] == "search")
    search_out = next(i for i in outside["items"] if i["kind"] == "search")
    assert {h["story_id"] for h in search_in["hits"]} == {internal, public}
    assert [h["story_id"] for h in search_out["hits"]] == [public] and search_out["hits_not_shown"] == 1
    titles = {d.title for d in svc.engine.docs if d.shareability == "internal"}
    answer_out = next(i for i in outside["items"] if i["kind"] == "answer")
    assert answer_out["answer"] is None and "internal audience" in answer_out["answer_withheld"]
    assert not {c["title"] for c in answer_out["citations"]} & titles
    assert next(i for i in inside["items"] if i["kind"] == "answer")["answer"] == answer.text
    # a viewer's audience is external whatever they ask for, and they are refused before it matters
    with pytest.raises(PermissionDenied):
        svc.review_queue(User("vi", Role.viewer), audience="internal")


def test_marking_through_the_service_needs_a_real_item(svc):
    svc.search("claims automation at an insurer", mode="keyword")
    item = svc.review_queue(LOCAL_USER)["items"][0]["item"]
    mark = svc.review_mark(ANALYST, item, note="fine")
    assert mark["reviewed_by"] == "ana" and mark["note"] == "fine"
    with pytest.raises(NotFound, match="reffy review"):
        svc.review_mark(ANALYST, "answer:99999")
    summary = svc.review_summary(ANALYST)
    assert summary["items"] == 1 and summary["reviewed"] == 1 and summary["searches"] == 1


def test_history_v4_adds_the_review_tables_to_an_existing_file(tmp_path):
    path = tmp_path / "history.sqlite"
    HistoryStore(path).close()
    con = sqlite3.connect(path)
    con.execute("DROP TABLE review_marks")
    con.execute("DROP TABLE theme_summaries")
    con.execute("DROP TABLE question_vectors")
    con.execute("PRAGMA user_version=3")
    con.commit()
    con.close()
    store = HistoryStore(path)
    try:
        assert store.schema_version == 4
        assert review.count(store, review.QueueFilter(only="unreviewed")) == 0
    finally:
        store.close()
