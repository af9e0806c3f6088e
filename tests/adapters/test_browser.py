"""The app in a real browser: ``reffy app`` (models load before it listens) on a free local
port, driven by Playwright in Debian's Chromium (headless, no sandbox, background networking
off), on a private copy of the demo library with a users file.

One flow, as a sales person, an analyst and an admin would live it: log in, refresh (still
signed in), search, open a story, open its link pasted into a new tab and into a browser that
is not signed in, ask, give feedback, open analytics, log out (the old session cookie is then
refused); an admin starts an ingest, leaves the page and closes the tab, and finds the run
completed on Library status, its new story searchable. Screenshots and the measured times
(server start to healthy, first paint, refresh, cold and warm searches) go to
``$REFFY_ARTIFACTS_DIR`` (default ``tests/artifacts/``); the targets for them live in
``eval/bench_cold.py``'s report, not here."""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import stop_process

from reffy.auth import Role, add_user

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 90_000
# True once a caption containing the text is in the page (checked every animation frame, so the
# measured time is not rounded up to Playwright's polling steps).
CAPTION_SHOWN = "t => [...document.querySelectorAll('[data-testid=stCaptionContainer]')].some(e => e.textContent.includes(t))"  # two shared cores: the cold start loads the embedding model

NO_CHROMIUM = "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.is_file(), reason=NO_CHROMIUM)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def artifacts() -> Path:
    folder = Path(os.environ.get("REFFY_ARTIFACTS_DIR") or REPO / "tests" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


STARTED: dict[str, float] = {}


@pytest.fixture
def app_url(demo_home: Path, tmp_path: Path) -> Iterator[str]:
    """A real app server (`reffy app`) for the demo home (with two users), stopped after the test."""
    add_user(demo_home / "users.yaml", "ana", "analyst-pass-1", Role.analyst)
    add_user(demo_home / "users.yaml", "ad", "admin-pass-1", Role.admin)
    port = free_port()
    env = {**os.environ, "REFFY_HOME": str(demo_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    log = (tmp_path / "streamlit.log").open("w")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reffy.cli", "app", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{(tmp_path / 'streamlit.log').read_text()}")
            time.sleep(0.1)
        STARTED["healthy_s"] = time.perf_counter() - started
        yield url
    finally:
        stop_process(proc)
        log.close()


NEW_STORY = """---
title: Larkspur Telecom answers billing questions in minutes
customer: Larkspur Telecom
country: IE
---

Larkspur Telecom, a mobile operator in Ireland, was losing subscribers because billing questions took days to
resolve. Its support team of 140 agents handled 90,000 contacts a month, mostly by e-mail. Larkspur chose Quillon
Converse over Zentrix after a four-week pilot and connected it to billing and network status systems. Within a
year, 58% of billing questions were answered automatically, first response time fell from 26 hours to 3 minutes
and churn among customers who contacted support dropped by 17%. "Our customers finally get an answer while they
are still on the app," said Aoife Byrne, Director of Customer Care at Larkspur Telecom.
"""


def log_in(page, name: str, password: str) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("textbox", name="Name")).to_be_visible()
    page.get_by_role("textbox", name="Name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def session_cookies(context) -> list[dict]:
    return [
        {k: c[k] for k in ("name", "value", "domain", "path")}
        for c in context.cookies()
        if c["name"].startswith("reffy_session_")
    ]


def test_log_in_search_ask_give_feedback_and_open_analytics(app_url: str, artifacts: Path, tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    timings: dict[str, object] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        errors = page.locator('[data-testid="stException"]')

        timings["server_start_to_healthy_s"] = round(STARTED["healthy_s"], 2)
        started = time.perf_counter()
        page.goto(app_url)
        expect(page.get_by_role("textbox", name="Name")).to_be_visible()
        timings["first_paint_ms"] = round((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        page.reload()
        expect(page.get_by_role("textbox", name="Name")).to_be_visible()
        timings["refresh_ms"] = round((time.perf_counter() - started) * 1000)
        expect(page.get_by_role("button", name="Deploy")).to_have_count(0)  # no Streamlit toolbar for sales people
        page.get_by_role("textbox", name="Name").fill("ana")
        page.get_by_role("textbox", name="Password").fill("analyst-pass-1")
        page.screenshot(path=artifacts / "01-login.png")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Find customer stories")).to_be_visible()
        expect(page.get_by_text("Signed in as ana (analyst)")).to_be_visible()
        page.wait_for_function("() => document.cookie.includes('reffy_session_')")  # set by the page's script
        assert len(session_cookies(context)) == 1  # the session's token, in a cookie of this library

        # A refresh keeps the session (a new Streamlit session, signed in from the cookie).
        page.reload()
        expect(page.get_by_text("Signed in as ana (analyst)")).to_be_visible()
        expect(page.get_by_role("textbox", name="Name")).to_have_count(0)

        # Quick search: a cold one (loads models), then warm ones, each timed from Enter to
        # the caption that closes the card list (rendered after the last card).
        box = page.get_by_placeholder("Search customer stories…")
        queries = [
            "insurer that automated claims",
            "retailer that replaced Zentrix",
            "hospital patient access",
            "bank that cut call handling time",
        ]
        browser_ms, server_ms = [], []
        for query in queries:
            box.fill(query)
            started = time.perf_counter()
            box.press("Enter")
            page.wait_for_function(CAPTION_SHOWN, arg=f"stories for “{query}” in ", polling="raf", timeout=TIMEOUT_MS)
            browser_ms.append((time.perf_counter() - started) * 1000)
            done = page.get_by_text(re.compile(rf"stories for “{re.escape(query)}” in \d+ ms"))
            expect(done).to_be_visible()
            server_ms.append(int(re.search(r"in (\d+) ms", done.inner_text()).group(1)))
        timings["quick_search_cold_ms"] = {"browser": round(browser_ms[0]), "server": server_ms[0]}
        timings["quick_search_warm_ms"] = {
            "browser": [round(t) for t in browser_ms[1:]],
            "server": server_ms[1:],
            "browser_median": round(statistics.median(browser_ms[1:])),
            "server_median": statistics.median(server_ms[1:]),
        }
        first = page.locator('[class*="st-key-card_"]').first  # the first story card
        expect(first.get_by_text("1. Nordvik Bank")).to_be_visible()
        expect(first.get_by_text("27/31")).to_be_visible()
        expect(first.get_by_text("internal only", exact=True)).to_be_visible()
        expect(first.get_by_role("link", name="Open story")).to_be_visible()
        first.get_by_text("Copy as reference").click()
        expect(first.get_by_text(re.compile(r"INTERNAL ONLY: not for customers\] Nordvik Bank"))).to_be_visible()
        expect(errors).to_have_count(0)
        page.screenshot(path=artifacts / "02-search.png")

        # The card's story page: rubric points with their evidence, then back to the chat.
        first.get_by_role("link", name="Open story").click()
        expect(
            page.get_by_role("heading", name="How Nordvik Bank took almost four minutes off every call")
        ).to_be_visible()
        expect(page.get_by_text("27 of 31 points")).to_be_visible()
        expect(page.get_by_text("Customer context", exact=True).first).to_be_attached()  # the rubric table, in words
        page.wait_for_timeout(500)  # let the table's canvas paint before the screenshot
        expect(errors).to_have_count(0)
        page.screenshot(path=artifacts / "03-story.png", full_page=True)
        story_url = page.url
        assert re.search(r"/story\?id=[0-9a-f]{12}", story_url), story_url

        # The story's link pasted into a new tab opens the story (the cookie signs the tab in) ...
        pasted = context.new_page()
        pasted.goto(story_url)
        expect(
            pasted.get_by_role("heading", name="How Nordvik Bank took almost four minutes off every call")
        ).to_be_visible()
        expect(pasted.get_by_text("Page not found")).to_have_count(0)
        pasted.close()
        # ... and in a browser that is not signed in, after the login, at the same address.
        stranger = browser.new_context(viewport={"width": 1400, "height": 1000})
        elsewhere = stranger.new_page()
        elsewhere.goto(story_url)
        expect(elsewhere.get_by_text("Log in to open the story this link points to.")).to_be_visible()
        expect(elsewhere.get_by_text("Page not found")).to_have_count(0)
        log_in(elsewhere, "ana", "analyst-pass-1")
        expect(
            elsewhere.get_by_role("heading", name="How Nordvik Bank took almost four minutes off every call")
        ).to_be_visible()
        assert elsewhere.url == story_url
        stranger.close()
        page.get_by_role("link", name="Find stories").click()

        # Answer mode: the brief streams in, then shows its citations as links to story pages.
        page.get_by_role("radio", name="Answer").click()
        question = page.get_by_placeholder("Ask about your customer stories…")
        started = time.perf_counter()
        question.fill("Which bank reduced call handling time?")
        question.press("Enter")
        answer = page.get_by_test_id("stChatMessage").last
        expect(answer.get_by_role("link", name=re.compile(r"^\[1\] .*Nordvik Bank"))).to_be_visible()
        timings["answer_ms"] = round((time.perf_counter() - started) * 1000)
        expect(
            page.get_by_role("button", name=re.compile(r"^Which bank reduced call handling time\? · "))
        ).to_be_visible()  # sidebar, with when
        expect(errors).to_have_count(0)
        page.screenshot(path=artifacts / "04-answer.png")

        # Thumbs down with a comment on the answer.
        answer.get_by_role("radio", name="Thumbs down").click()
        answer.get_by_placeholder("Comment (optional)").fill("Wanted a Danish bank only")
        answer.get_by_role("button", name="Send feedback").click()
        expect(page.get_by_text("Thanks, your feedback was recorded.")).to_be_visible()
        page.screenshot(path=artifacts / "05-feedback.png")

        # Analytics: the searches, the answer and the thumbs-down are counted.
        page.get_by_role("link", name="Analytics").click()
        expect(page.get_by_role("heading", name="Analytics")).to_be_visible()
        expect(page.get_by_text("Scores by industry")).to_be_visible()
        expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible()
        page.screenshot(path=artifacts / "06-analytics-quality.png", full_page=True)
        page.get_by_role("tab", name="Usage").click()
        queries_metric = page.get_by_test_id("stMetric").filter(has_text="Queries")
        expect(queries_metric).to_contain_text(str(len(queries) + 1))
        expect(page.get_by_text("Wanted a Danish bank only").first).to_be_attached()  # in the thumbs-down table
        expect(errors).to_have_count(0)
        page.screenshot(path=artifacts / "07-analytics-usage.png", full_page=True)

        # Log out: the session ends on the server, so the cookie it left is refused if replayed.
        old_cookie = session_cookies(context)
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("textbox", name="Name")).to_be_visible()
        page.wait_for_function("name => !document.cookie.includes(name + '=')", arg=old_cookie[0]["name"])
        assert session_cookies(context) == []  # and the browser dropped the cookie
        replay = browser.new_context()
        replay.add_cookies(old_cookie)
        replayed = replay.new_page()
        replayed.goto(story_url)
        expect(replayed.get_by_role("textbox", name="Name")).to_be_visible()  # refused: log in again
        expect(
            replayed.get_by_role("heading", name="How Nordvik Bank took almost four minutes off every call")
        ).to_have_count(0)
        replay.close()

        # An admin starts an ingest, leaves the page, closes the tab: the server finishes the run.
        upload = tmp_path / "larkspur-telecom.md"
        upload.write_text(NEW_STORY, encoding="utf-8")
        admin = browser.new_context(viewport={"width": 1400, "height": 1000})
        ingest = admin.new_page()
        ingest.goto(f"{app_url}/ingest")
        log_in(ingest, "ad", "admin-pass-1")
        expect(ingest.get_by_role("heading", name="Ingest")).to_be_visible()
        ingest.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(upload))
        expect(ingest.get_by_text("larkspur-telecom.md")).to_be_visible()
        ingest.get_by_role("textbox", name=re.compile("^Web pages")).fill("not a web address")
        ingest.get_by_role("button", name="Ingest").click()
        expect(ingest.get_by_text(re.compile(r"Pipeline run \d+ · started by ad"))).to_be_visible()
        expect(ingest.get_by_test_id("stProgress")).to_be_visible()  # still running when we leave
        ingest.screenshot(path=artifacts / "08-ingest-started.png", full_page=True)
        ingest.get_by_role("link", name="Find stories").click()  # navigate away at once
        expect(ingest.get_by_role("heading", name="Find customer stories")).to_be_visible()
        ingest.close()  # and drop the browser tab: the run is the server's
        status = admin.new_page()
        status.goto(f"{app_url}/library")
        run = status.locator('[class*="st-key-job_library"]')
        expect(run.get_by_text("finished with problems")).to_be_visible(timeout=300_000)  # the pasted line
        expect(run.get_by_text(re.compile(r"Read 1 story: 1 new"))).to_be_visible()
        expect(run.get_by_text(re.compile(r"^Searchable: \d+ stories \(1 newly indexed\)"))).to_be_visible()
        expect(run.get_by_text("1 problem", exact=True)).to_have_count(1)  # once the page settles, shown once
        expect(run.get_by_text("1 problem", exact=True)).to_be_visible()
        expect(status.get_by_test_id("stException")).to_have_count(0)
        status.screenshot(path=artifacts / "09-library-run.png", full_page=True)
        status.get_by_role("link", name="Find stories").click()
        box = status.get_by_placeholder("Search customer stories…")
        box.fill("Larkspur Telecom billing questions")
        box.press("Enter")
        expect(status.locator('[class*="st-key-card_"]').first.get_by_text("1. Larkspur Telecom")).to_be_visible()
        admin.close()
        browser.close()

    (artifacts / "browser-timings.json").write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")
    print(f"\nbrowser timings: {json.dumps(timings)}")


# Words that belong to operators (Library status, the CLI), never to the pages sales people use:
# layer names, stack traces and exception types, settings, commands ('Reffy' is the app's name), raw JSON.
OPERATOR_WORDS = re.compile(r"\b(bronze|silver|gold)\b|traceback|reffy_", re.IGNORECASE)
OPERATOR_TEXT = re.compile(r"\breffy [a-z]|\b[A-Z][a-z]+Error\b|\{\"")


def jargon_in(page) -> list[str]:
    text = page.locator("body").inner_text()
    return [m.group(0) for pattern in (OPERATOR_WORDS, OPERATOR_TEXT) for m in pattern.finditer(text)]


def test_links_that_validate_words_for_sales_people_and_the_api_docs_offline(
    app_url: str, demo_home: Path, artifacts: Path, tmp_path: Path
):
    """A viewer pastes a mistyped filter link (the explorer lists the valid values by name), follows a
    story's industry link, and meets no operator words on the chat, story and explorer pages; the REST
    API's Swagger UI (`reffy serve`) renders its operations with every request outside 127.0.0.1 blocked."""
    from playwright.sync_api import expect, sync_playwright
    from test_live_governance import free_port as api_port
    from test_live_governance import wait_healthy

    expect.set_options(timeout=TIMEOUT_MS)
    add_user(demo_home / "users.yaml", "vi", "viewer-pass-1", Role.viewer)
    port = api_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "REFFY_HOME": str(demo_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with log.open("w") as out:
        api = subprocess.Popen(
            [sys.executable, "-m", "reffy.cli", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            errors = page.locator('[data-testid="stException"]')

            # A mistyped filter in a pasted link: an error naming the valid values, and every story listed.
            page.goto(f"{app_url}/explorer?industry=insurence")
            log_in(page, "vi", "viewer-pass-1")
            expect(page.get_by_role("heading", name="Story explorer")).to_be_visible()
            alert = page.get_by_test_id("stAlert").filter(has_text="Unknown industry 'insurence'")
            expect(alert).to_contain_text("Did you mean 'insurance'?")
            expect(alert).to_contain_text("Banking & financial services")
            expect(page.get_by_text("The link's filters were not applied")).to_be_visible()
            expect(page.get_by_text(re.compile(r"^\d+ stories"))).to_be_visible()  # not an empty page
            expect(page.get_by_test_id("stDataFrame")).to_be_visible()
            expect(errors).to_have_count(0)
            page.screenshot(path=artifacts / "10-mistyped-link.png", full_page=True)
            assert jargon_in(page) == []

            # Sales pages in people's words: a search, a public story, its industry link to the explorer.
            page.get_by_role("link", name="Find stories").click()
            box = page.get_by_placeholder("Search customer stories…")
            box.fill("building society complaint handling")
            box.press("Enter")
            first = page.locator('[class*="st-key-card_"]').first
            expect(first.get_by_text("1. Greystone Building Society")).to_be_visible()
            expect(first.get_by_text("Banking & financial services · United Kingdom · 2024")).to_be_visible()
            assert jargon_in(page) == []
            first.get_by_role("link", name="Open story").click()
            expect(
                page.get_by_role("heading", name="Greystone Building Society halves complaint handling time")
            ).to_be_visible()
            page.get_by_text(re.compile(r"^Business challenge · \d+ of \d+ points")).click()  # the evidence, whole
            expect(page.get_by_text(re.compile(r"^Challenge stated · \d of 3 points"))).to_be_visible()
            expect(errors).to_have_count(0)
            assert jargon_in(page) == []
            page.screenshot(path=artifacts / "11-story-evidence.png", full_page=True)
            page.get_by_role("link", name="More Banking & financial services stories").click()
            expect(page.get_by_role("heading", name="Story explorer")).to_be_visible()
            expect(page.get_by_test_id("stMultiSelect").filter(has_text="Industry")).to_contain_text(
                "Banking & financial services"
            )
            expect(page.get_by_text(re.compile(r"^\d+ stor(y|ies) \(external audience"))).to_be_visible()
            assert "industry=finance" in page.url
            assert jargon_in(page) == []
            context.close()

            # The API's docs with no network: anything not on 127.0.0.1 is blocked, and nothing had to be.
            wait_healthy(f"http://127.0.0.1:{port}", api, log)
            docs = browser.new_context()
            blocked: list[str] = []

            def route(r):
                if r.request.url.startswith(("http://127.0.0.1:", "data:", "blob:")):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            docs.route("**/*", route)
            swagger = docs.new_page()
            swagger.goto(f"http://127.0.0.1:{port}/docs")
            expect(swagger.locator(".swagger-ui .info .title")).to_contain_text("Reffy API")
            expect(swagger.locator(".opblock").first).to_be_visible()
            expect(swagger.locator(".opblock-summary-path", has_text="/v1/search").first).to_be_visible()
            assert swagger.locator(".opblock").count() > 5
            swagger.screenshot(path=artifacts / "12-api-docs.png", full_page=True)
            assert blocked == [], blocked
            docs.close()
            browser.close()
    finally:
        stop_process(api)
