"""The Streamlit app, page by page, against the real service on a private copy of the demo
library (AppTest: the real scripts and widgets, no browser). Each test is one user flow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st
from helpers import STORY
from httpserver import Reply, serve
from streamlit.testing.v1 import AppTest

from reffy.auth import Role, User, add_user
from reffy.config import load_settings
from reffy.service import ReffyService

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
PAGES = "reffy/ui/pages"
PASSWORDS = {"ana": "analyst-pass-1", "mo": "member-pass-1", "vi": "viewer-pass-1", "ad": "admin-pass-1"}
WEB_STORY = (
    "Larkspur Telecom, a mobile operator in Ireland, was losing subscribers because billing questions took days to "
    "resolve. Its support team of 140 agents handled 90,000 contacts a month, mostly by e-mail. Larkspur chose Quillon "
    "Converse over Zentrix after a four-week pilot and connected it to billing and network status systems. Within a "
    "year, 58% of billing questions were answered automatically, first response time fell from 26 hours to 3 minutes "
    'and churn among customers who contacted support dropped by 17%. "Our customers finally get an answer while they '
    'are still on the app," said Aoife Byrne, Director of Customer Care at Larkspur Telecom.'
)
ROLES = {"ana": Role.analyst, "mo": Role.member, "vi": Role.viewer, "ad": Role.admin}


@pytest.fixture(autouse=True)
def fresh_service_cache():
    """The app caches one service per process; each test has its own REFFY_HOME."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture
def users(demo_home: Path) -> Path:
    """A users file in the demo home: the app then asks everyone to log in."""
    path = demo_home / "users.yaml"
    for name, password in PASSWORDS.items():
        add_user(path, name, password, ROLES[name])
    return path


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=90).run()


def click(at: AppTest, label: str) -> AppTest:
    """Click the (first) button with this label and rerun."""
    buttons = [b for b in at.button if b.label == label]
    assert buttons, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return buttons[0].click().run()


def login(name: str) -> AppTest:
    at = app()
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(PASSWORDS[name])
    return click(at, "Log in")


def search(at: AppTest, query: str) -> AppTest:
    return at.chat_input(key="search_input").set_value(query).run()


def ask(at: AppTest, question: str) -> AppTest:
    if at.segmented_control(key="mode").value != "Answer":
        at.segmented_control(key="mode").set_value("Answer").run()
    return at.chat_input(key="ask_input").set_value(question).run()


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def card_heads(at: AppTest) -> list[str]:
    """The first line of every story card: '**1. Customer** · industry · CC · year'."""
    return [m for m in texts(at.markdown) if m.startswith("**") and ". " in m.split("**")[1]]


def open_page(at: AppTest, name: str, **query: str) -> AppTest:
    for key, value in query.items():
        at.query_params[key] = value
    return at.switch_page(f"{PAGES}/{name}.py").run()


def frame(at: AppTest, column: str, index: int = 0):
    """The index-th table on the page that has this column (tables carry no keys in AppTest)."""
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(frames) > index, f"no table with column {column!r}"
    return frames[index]


def sidebar_buttons(at: AppTest) -> list[str]:
    """Sidebar button labels; a conversation's as its title (its label adds when: ' · today 14:05')."""
    return [b.label.split(" · ")[0] for b in at.sidebar.button]


def story_id(demo_settings, title_word: str) -> str:
    svc = ReffyService(demo_settings)
    try:
        return next(r.story_id for r in svc.stories() if title_word in r.title)
    finally:
        svc.close()


# -- identity -------------------------------------------------------------------------------
def test_a_laptop_without_users_file_needs_no_login(demo_home):
    at = app()
    assert not at.exception
    assert "Find customer stories" in texts(at.title)
    assert not [t for t in at.text_input if t.key == "login_password"]
    assert any("**local** (admin)" in c for c in texts(at.sidebar.caption))
    assert "Log out" not in sidebar_buttons(at)
    at = open_page(at, "library")
    assert {m.label for m in at.metric} >= {"Sources read", "In the library"}


def test_login_refuses_a_wrong_password_and_admits_the_right_one(users):
    at = app()
    assert "Find customer stories" not in texts(at.title)
    at.text_input(key="login_name").input("ana")
    at.text_input(key="login_password").input("not-the-password")
    click(at, "Log in")
    assert "Wrong name or password." in texts(at.error)
    at.text_input(key="login_password").input(PASSWORDS["ana"])
    click(at, "Log in")
    assert not at.exception
    assert "Find customer stories" in texts(at.title)
    assert any("**ana** (analyst)" in c for c in texts(at.sidebar.caption))
    sessions = ReffyService(load_settings(home=users.parent)).sessions
    assert [s.user for s in sessions.live()] == ["ana"]  # the login started a server-side session
    click(at, "Log out")
    assert "Find customer stories" not in texts(at.title)
    assert sessions.live() == []  # logout ended it: the cookie that held it is refused from now on


def test_single_sign_on_maps_the_identity_to_a_role_from_the_users_file(users):
    add_user(users, "sam@example.com", "unused-password", Role.analyst)
    auth = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "s3cret",
        "client_id": "reffy",
        "client_secret": "x",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
    }
    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets["auth"] = auth
    at.user = {"is_logged_in": False}
    at.run()
    assert "Log in with single sign-on" in [b.label for b in at.button]
    assert not [t for t in at.text_input if t.key == "login_password"]  # no password form with SSO

    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets["auth"] = auth
    at.user = {"is_logged_in": True, "email": "sam@example.com", "name": "Sam"}
    at.run()
    assert any("**sam@example.com** (analyst)" in c for c in texts(at.sidebar.caption))
    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets["auth"] = auth
    at.user = {"is_logged_in": True, "email": "new@example.com"}
    at.run()
    assert any("**new@example.com** (member)" in c for c in texts(at.sidebar.caption))  # not in the users file


def test_a_member_may_switch_to_the_external_audience(users):
    at = login("mo")
    at.sidebar.radio(key="audience").set_value("external").run()
    at = search(at, "bank that cut call handling time")
    badges = [m for m in texts(at.markdown) if "-badge[" in m]
    assert badges and all("blue-badge[public]" in b for b in badges)


# -- quick search ---------------------------------------------------------------------------
def test_quick_search_shows_story_cards_with_badges_figures_and_a_reference_snippet(demo_home):
    at = search(app(), "bank that cut call handling time")
    assert not at.exception
    heads = card_heads(at)
    assert heads[0].startswith("**1. Nordvik Bank**") and "Banking & financial services · Denmark · 2024" in heads[0]
    badges = [m for m in texts(at.markdown) if "-badge[" in m]
    assert ":green-badge[27/31] :red-badge[internal only]" in badges
    assert any(m.startswith(":material/trending_up:") and "38%" in m for m in texts(at.markdown))
    assert any(m.startswith("> “") and "Maria Jensen" in m for m in texts(at.markdown))
    snippet = at.code[0].value
    assert snippet.startswith(
        "[INTERNAL ONLY: not for customers] Nordvik Bank (Banking & financial services, Denmark, 2024): How Nordvik Bank"
    )
    assert "Outcome: 38% lower average handling time" in snippet and "file://" not in snippet
    assert snippet.endswith("Internal story (Reffy 93c49c676e43): ask marketing before sharing it with a customer.")
    assert [c for c in texts(at.caption) if "stories for “bank that cut call handling time” in" in c]


def test_a_viewer_only_ever_sees_public_stories(users):
    at = login("vi")
    audience = at.sidebar.radio(key="audience")
    assert audience.value == "external" and audience.disabled
    at = search(at, "bank that cut call handling time")
    badges = [m for m in texts(at.markdown) if "-badge[" in m]
    assert badges and all("blue-badge[public]" in b for b in badges)
    assert not any("[INTERNAL ONLY" in c for c in texts(at.code))
    # Nordvik Bank's fullest story is internal: a viewer gets its published twin, never the internal copy
    shown = " ".join(texts(at.markdown) + texts(at.caption))
    assert "How Nordvik Bank took almost four minutes" not in shown and "file://" not in shown
    assert any("Nordvik Bank" in h for h in card_heads(at))  # before, the viewer lost the story altogether


def test_sidebar_filters_narrow_the_results(demo_home):
    at = app()
    assert {"Banking & financial services", "Insurance"} <= set(at.multiselect(key="filter_industry").options)
    assert "Denmark" in at.multiselect(key="filter_country").options  # names shown, ids filtered on
    at.multiselect(key="filter_industry").set_value(["insurance"]).run()
    at.slider(key="filter_min_score").set_value(20).run()
    at = search(at, "automated claims handling")
    heads = card_heads(at)
    assert heads and all(" · Insurance · " in h for h in heads)  # the industry name, not its id
    scores = [int(m.split("-badge[")[1].split("/")[0]) for m in texts(at.markdown) if "-badge[" in m]
    assert scores and min(scores) >= 20


def test_a_search_with_no_good_match_says_so(demo_home):
    at = search(app(), "volcanic penguin knitting championship")
    assert any("No strong match" in w for w in texts(at.warning))


def test_thumbs_on_a_story_card_are_recorded_with_the_comment(demo_home, demo_settings):
    at = search(app(), "bank that cut call handling time")
    at.feedback[0].set_value(1)
    at.text_input(key=at.text_input[0].key).input("Perfect for the Danske pitch")
    click(at, "Send feedback")
    assert any("feedback was recorded" in c for c in texts(at.caption))
    stats = ReffyService(demo_settings).usage(User("local", Role.admin))
    assert stats["totals"]["feedback_up"] == 1


# -- answers and conversations ----------------------------------------------------------------
def test_answer_mode_streams_a_cited_answer_and_takes_feedback(demo_home, demo_settings):
    at = ask(app(), "Which bank reduced call handling time?")
    assert not at.exception
    roles = [m.name for m in at.chat_message]
    assert roles == ["user", "assistant"]
    answer = at.chat_message[1]
    assert "[1]" in " ".join(texts(answer.markdown))
    links = [link.label for link in at.get("page_link")]
    assert any(label.startswith("[1] ") and "Nordvik Bank" in label for label in links)
    at.feedback[0].set_value(0)
    comment = next(t for t in at.text_input if t.key.startswith("comment_msg_"))
    comment.input("Wanted a Danish bank only")
    click(at, "Send feedback")
    assert any("feedback was recorded" in c for c in texts(at.caption))
    stats = ReffyService(demo_settings).usage(User("local", Role.admin))
    assert [(d["query"], d["comment"]) for d in stats["thumbs_down"]] == [
        ("Which bank reduced call handling time?", "Wanted a Danish bank only")
    ]


def test_conversations_can_be_started_renamed_continued_after_a_restart_and_deleted(users):
    at = ask(login("mo"), "Which insurer automated claims?")
    assert "Which insurer automated claims?" in sidebar_buttons(at)
    at.text_input(key="conv_title").input("Insurance refs")
    at = click(at, "Rename")
    assert "Insurance refs" in sidebar_buttons(at)
    at = click(at, "New conversation")
    assert [m.name for m in at.chat_message] == []
    ask(at, "Any retailer that replaced Zentrix?")

    st.cache_resource.clear()  # a restart: new process state, new browser session
    at = login("mo")
    assert {"Insurance refs", "Any retailer that replaced Zentrix?"} <= set(sidebar_buttons(at))
    labels = [b.label for b in at.sidebar.button if b.label.startswith(("Insurance refs", "Any retailer"))]
    assert len(labels) == 2 and all(" · today " in label for label in labels)  # when, not only what
    at = click(at, next(label for label in labels if label.startswith("Insurance refs")))
    assert "Which insurer automated claims?" in " ".join(texts(at.chat_message[0].markdown))
    at = ask(at, "And one in Lithuania?")
    assert [m.name for m in at.chat_message] == ["user", "assistant", "user", "assistant"]
    at = click(at, "Delete conversation")
    assert "Insurance refs" not in sidebar_buttons(at)
    assert "Any retailer that replaced Zentrix?" in sidebar_buttons(at)
    assert "Any retailer that replaced Zentrix?" not in sidebar_buttons(login("ana"))  # per user


# -- explorer and story page ------------------------------------------------------------------
def test_explorer_searches_and_opens_the_story_page(demo_home):
    at = open_page(app(), "explorer")
    assert not at.exception
    assert len(at.dataframe[0].value) > 30
    at.text_input(key="explorer_text").input("Nordvik").run()
    assert at.dataframe[0].value["customer"].tolist() == ["Nordvik Bank"]
    at.selectbox(key="explorer_pick").select_index(0).run()
    at = click(at, "Open")
    assert texts(at.title) == ["How Nordvik Bank took almost four minutes off every call"]
    facts = " ".join(texts(at.markdown))
    assert (
        "**Customer:** Nordvik Bank" in facts
        and "**Industry:** Banking & financial services" in facts
        and "**Country:** Denmark" in facts
    )
    rubric = frame(at, "criterion")
    assert len(rubric) == 15 and rubric["points"].sum() == 27
    assert rubric["evidence"].str.len().max() > 20
    assert not any("file://" in m for m in [*texts(at.markdown), *texts(at.caption)])  # no server paths
    assert any("From an internal document (nordvik-bank-handling-time.html)" in c for c in texts(at.caption))
    assert "Challenge sized with figures" in rubric["criterion"].tolist()  # names, not ids
    assert "Business challenge" in rubric["dimension"].tolist()
    assert len(frame(at, "fetched_at")) >= 1


def test_the_story_page_shows_every_criterion_s_evidence_whole_and_links_to_its_industry(demo_home, demo_settings):
    sid = story_id(demo_settings, "Nordvik")
    at = open_page(app(), "story", id=sid)
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert "Customer and context · 5 of 5 points" in labels and "Business challenge · 3 of 6 points" in labels
    challenge = next(e for e in at.expander if e.label.startswith("Business challenge"))
    quoted = [m.value for m in challenge.markdown if m.value.startswith("> ")]
    assert any(q.endswith("fraud scares and account access problems.") for q in quoted)  # whole, past 240 characters
    assert not any(q.endswith("...") for e in at.expander for q in (m.value for m in e.markdown))
    links = {p.proto.label: p.proto.page for p in at.get("page_link")}
    industry = next(label for label in links if label.startswith("More Banking & financial services"))
    assert "explorer" in links[industry] and any("Denmark" in label for label in links)


def test_a_link_to_the_explorer_filters_it_and_a_mistyped_one_lists_the_valid_values(demo_home):
    at = open_page(app(), "explorer", industry="finance", country="Denmark")
    assert not at.exception and not at.error
    assert at.multiselect(key="filter_industry").value == ["finance"]  # shown as its name, kept as the id
    assert at.multiselect(key="filter_country").value == ["DK"]
    assert at.dataframe[0].value["customer"].tolist() == ["Nordvik Bank"]
    assert at.dataframe[0].value["industry"].tolist() == ["Banking & financial services"]
    at = open_page(app(), "explorer", industry="insurence")
    [error] = texts(at.error)
    assert "Unknown industry 'insurence'. Did you mean 'insurance'?" in error
    assert "Banking & financial services" in error and "Insurance" in error  # the valid values, by name
    assert len(at.dataframe[0].value) > 30  # every story, not an empty page
    assert any("filters were not applied" in c for c in texts(at.caption))


def test_library_status_speaks_in_words_not_layers_or_json(demo_home):
    at = open_page(app(), "library")
    assert not at.exception
    shown = " ".join([*(m.label for m in at.metric), *texts(at.markdown), *texts(at.caption), *texts(at.subheader)])
    for jargon in ("bronze", "silver", "gold", "chunks"):
        assert jargon not in shown.lower().replace("gold include", ""), jargon  # the override command may name it
    runs = frame(at, "what happened")
    assert runs["what happened"][0] == "50 records read: 50 new, 0 updated, 0 unchanged; 3 duplicates grouped"
    assert runs["problems"][0] == "none" and "[" not in runs["from"][0]
    assert frame(at, "scored by")["scored by"][0] == "the offline scorer (no LLM)"
    assert any(
        "37 stories at or above 12/31" in m and "1 page that is not a customer story" in m for m in texts(at.markdown)
    )


def test_the_story_page_lists_the_duplicate_group(demo_home, demo_settings):
    at = open_page(app(), "story", id=story_id(demo_settings, "Halcyon"))
    duplicates = frame(at, "similarity")
    assert duplicates["source_type"].tolist() == ["docx"] and duplicates["match"].tolist() == ["near"]


def test_an_analyst_corrects_a_story_and_removes_the_correction(users, demo_settings):
    sid = story_id(demo_settings, "Nordvik")
    at = open_page(login("ana"), "story", id=sid)
    at.selectbox(key="override_field").set_value("customer")
    at.text_input(key="override_value").input("Nordvik Bank A/S")
    at.text_input(key="override_reason").input("legal name")
    at = click(at, "Save override")
    assert not at.exception
    assert "**Customer:** Nordvik Bank A/S" in " ".join(texts(at.markdown))
    assert any("`customer` = **Nordvik Bank A/S**" in m and "legal name" in m for m in texts(at.markdown))
    at = click(at, "Remove")
    assert "**Customer:** Nordvik Bank  \n" in " ".join(texts(at.markdown)) + "  \n"
    assert ReffyService(demo_settings).overrides() == []


def test_a_member_gets_no_override_editor_no_analytics_and_no_ingest(users, demo_settings):
    at = open_page(login("mo"), "story", id=story_id(demo_settings, "Nordvik"))
    assert not at.exception
    assert not [s for s in at.selectbox if s.key == "override_field"]
    assert any("Analysts can correct" in c for c in texts(at.caption))
    at = open_page(at, "analytics")
    assert any("analytics needs the analyst role" in e for e in texts(at.error))
    assert not at.get("vega_lite_chart")
    at = open_page(at, "ingest")
    assert any("ingest needs the admin role" in e for e in texts(at.error))
    assert not at.get("file_uploader")


# -- analytics and ingest ---------------------------------------------------------------------
def test_analytics_shows_quality_coverage_and_usage_to_an_analyst(users):
    at = search(login("ana"), "bank that cut call handling time")
    at = search(at, "volcanic penguin knitting championship")
    at = open_page(at, "analytics")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Queries"] == "2"
    assert metrics["Active users (latest day)"] == "1"
    assert re.fullmatch(r"\d+ ms|\d+(\.\d)? s", metrics["Search time (median)"])  # with its unit
    assert any(re.fullmatch(r"95% within (\d+ ms|\d+(\.\d)? s) · 2 searches", c) for c in texts(at.caption))
    assert metrics["Answer time (median)"] == "–"
    assert any("Each tick is one story" in c and "12 of 31 points" in c for c in texts(at.caption))
    assert len(at.get("vega_lite_chart")) >= 4  # scores x2, coverage, daily users, queries/day, modes
    assert len(at.get("download_button")) >= 4
    zero = frame(at, "query")
    assert zero["query"].tolist() == ["volcanic penguin knitting championship"]
    coverage = frame(at, "strong")
    assert coverage["strong"].sum() > 10


def wait_for_run(home: Path, timeout: float = 600):
    """The last pipeline run once it has finished (it runs on a thread of this process)."""
    import time

    svc = ReffyService(load_settings(home=home))
    deadline = time.monotonic() + timeout
    try:
        while (job := svc.jobs(User("local", Role.admin), limit=1)[0]).running:
            assert time.monotonic() < deadline, job.message
            time.sleep(0.2)
        return job
    finally:
        svc.close()


def test_an_admin_uploads_files_adds_urls_and_runs_the_pipeline(users, demo_home, monkeypatch):
    monkeypatch.setenv("REFFY_ALLOW_PRIVATE_URLS", "true")  # the local test server is on 127.0.0.1
    at = open_page(login("ad"), "ingest")
    assert not at.exception
    story = "# Kestrel Mutual cuts claim handling time\n\n" + STORY.replace("Nordvik Bank", "Kestrel Mutual")
    page = (
        "<html><head><title>Larkspur Telecom answers faster</title></head><body><article><h1>Larkspur Telecom "
        "answers faster</h1><p>" + WEB_STORY + "</p></article></body></html>"
    )
    with serve() as web:
        urls = [web.route("/larkspur", Reply(page)), web.route("/gone", Reply("no", status=404))]
        at.file_uploader(key="ingest_files").set_value(
            [("kestrel.md", story.encode(), "text/markdown"), ("broken.pdf", b"%PDF-1.4 broken", "application/pdf")]
        )
        at.text_area(key="ingest_urls").input("\n".join([*urls, "/etc/passwd"]))  # a path typed by mistake
        at = click(at, "Ingest")
        assert not at.exception, at.exception
        assert any("keeps running if you leave this page" in t.value for t in at.toast)
        at = open_page(at, "chat")  # leave the page: the run goes on without it
        job = wait_for_run(demo_home)
    assert job.status == "partial" and job.result["ingest"]["new"] == 2 and "index" in job.result
    at = open_page(at, "ingest")
    report = " ".join(texts(at.markdown))
    assert "finished with problems" in report and "Read 2 stories: 2 new" in report and "Searchable:" in report
    assert (demo_home / "uploads" / "kestrel.md").is_file()
    problems = frame(at, "what went wrong").to_csv()  # reasons in words, not codes
    assert "The file is damaged and could not be read." in problems and "It is not a web address." in problems
    assert "/gone" in problems and "/etc/passwd" in problems
    assert "corrupt" not in frame(at, "what went wrong")["what went wrong"].str.cat()
    at = search(open_page(at, "chat"), "Kestrel Mutual claim handling")
    assert card_heads(at)[0].startswith("**1. Kestrel Mutual**")  # searchable right away
    at = search(at, "Larkspur Telecom")
    assert card_heads(at)[0].startswith("**1. Larkspur Telecom**")
    at = open_page(at, "library")  # the same run on Library status
    assert any(f"Pipeline run {job.id}" in m for m in texts(at.markdown))


def test_a_second_run_is_refused_while_one_is_going(users, demo_home):
    import subprocess
    import sys

    other_server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:  # a run that another live server process is busy with
        svc = ReffyService(load_settings(home=demo_home))
        job = svc.job_runner.store.create("ana", ["https://example.com/story"], {"full": True}, [])
        svc.job_runner.store.update(job.id, pid=other_server.pid, stage="score", message="Scoring: 3 of 9 stories")
        at = open_page(login("ad"), "ingest")
        at.text_area(key="ingest_urls").input("https://example.com/another")
        at = click(at, "Ingest")
        assert any(
            "A pipeline run is already going (started by ana" in e and "Scoring: 3 of 9 stories" in e
            for e in texts(at.error)
        )
        assert [j.id for j in svc.jobs(User("ad", Role.admin))] == [job.id]
        assert [p.proto.text for p in at.get("progress")] == ["Scoring: 3 of 9 stories"]  # the running one
    finally:
        other_server.kill()
        other_server.wait()


def test_library_status_is_for_analysts_and_admins(users):
    at = open_page(login("mo"), "library")
    assert any("needs the analyst role" in e for e in texts(at.error))
    assert not at.metric
    at = open_page(login("ana"), "library")
    assert not at.exception and {m.label for m in at.metric} >= {"Sources read", "In the library"}
    assert any("No pipeline run yet" in c for c in texts(at.caption))


def test_library_status_and_an_empty_home(home):
    at = app()
    assert not at.exception
    assert any("reffy" in e for e in texts(at.error))  # how to build a library


def test_sales_people_get_no_commands_or_paths_when_the_library_is_not_ready(home):
    add_user(home / "users.yaml", "mo", PASSWORDS["mo"], Role.member)
    at = login("mo")
    assert not at.exception
    shown = " ".join(texts(at.error))
    assert "not available right now" in shown and "Library status" in shown
    assert "reffy" not in shown.replace("Reffy", "") and str(home) not in shown  # no command, no path


# -- card wording (pure) ----------------------------------------------------------------------
def test_the_headline_outcome_is_a_result_not_the_situation_before():
    from reffy.ui.present import top_outcome

    outcomes = [
        "The challenge By 2022 the average call took 9 minutes 40 seconds, up from seven minutes.",
        "38% lower average handling time, from 9:40 to 6:00 per call",
    ]
    assert top_outcome(outcomes) == outcomes[1]
    assert top_outcome(["Customers love it"]) == "Customers love it" and top_outcome([]) is None


def test_a_year_range_spanning_the_whole_library_is_not_a_filter():
    from reffy.ui.present import search_filters

    assert search_filters(years=(2023, 2024), year_bounds=(2023, 2024)) == {}  # keeps stories with no year
    assert search_filters(industry=["finance"], years=(2024, 2024), year_bounds=(2023, 2024), min_score=20) == {
        "industry": ["finance"],
        "year_min": 2024,
        "year_max": 2024,
        "min_score": 20,
    }


def test_a_reference_snippet_carries_a_public_link_and_never_a_server_path():
    from reffy.ui.present import Card, reference_snippet, web_link

    public = Card(
        "3ef07a478607aa",
        "Greystone halves complaint handling time",
        customer="Greystone Building Society",
        shareability="public",
        source_link="https://quillon.example/customers/greystone",
    )
    assert reference_snippet(public).splitlines()[-1] == "Source: https://quillon.example/customers/greystone"
    unpublished = Card("3ef07a478607aa", "A public story from a PDF", shareability="public", source_link=None)
    assert reference_snippet(unpublished).endswith("Source: ask marketing for the published version.")
    internal = Card("93c49c676e436d71", "Nordvik", shareability="internal", source_link="https://intranet.example/n")
    assert reference_snippet(internal).splitlines()[-2:] == [
        "Internal story (Reffy 93c49c676e43): ask marketing before sharing it with a customer.",
        "Internal link: https://intranet.example/n",
    ]
    assert web_link("file:///work/data/blog/nordvik.html") is None and web_link("HTTPS://x.example/a")


def test_conversations_are_listed_with_when_and_never_twice_the_same_label():
    from datetime import UTC, datetime

    from reffy.ui.present import conversation_labels, when

    now = datetime(2026, 6, 3, 15, 0, tzinfo=UTC)
    assert when("2026-06-03T14:05:00.000+00:00", now=now) == "today 14:05"
    assert when("2026-06-02T09:12:00.000+00:00", now=now) == "yesterday 09:12"
    assert when("2026-05-20T09:12:00.000+00:00", now=now) == "20 May 09:12"
    assert when("2025-12-24T09:12:00.000+00:00", now=now) == "24 Dec 2025"
    assert when("2026-06-03T14:05:00.000+00:00", now=now, tz="Europe/Copenhagen") == "today 16:05"
    convs = [
        {"title": "Which bank cut call time?", "updated_at": "2026-06-03T14:05:00.000+00:00"},
        {"title": "Which bank cut call time?", "updated_at": "2026-06-03T14:05:30.000+00:00"},
        {"title": "Which bank cut call time?", "updated_at": "2026-06-01T10:00:00.000+00:00"},
        {"title": None, "updated_at": "2026-06-03T11:00:00.000+00:00"},
    ]
    assert conversation_labels(convs, now=now) == [
        "Which bank cut call time? · today 14:05",
        "Which bank cut call time? · today 14:05 (2)",
        "Which bank cut call time? · 1 Jun 10:00",
        "New conversation · today 11:00",
    ]
