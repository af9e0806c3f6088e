"""The review queue and the insights digest through every adapter, on a private copy of the demo
library: the command line (real subprocesses), the REST API (analyst and viewer tokens), the web
app (AppTest) and the optional LLM theme summaries (the stub provider: cached and costed)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import streamlit as st
from fastapi.testclient import TestClient
from helpers import run_cli
from llmstub import ok
from querylog import NOW, generate, write_log
from streamlit.testing.v1 import AppTest

from reffy.api import create_app
from reffy.auth import LOCAL_USER, Role, User, add_user
from reffy.config import load_settings
from reffy.service import ReffyService

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"


def logged(settings, n: int = 300, seed: int = 4) -> list[dict]:
    """The synthetic log written into the home's history, hits from the demo library."""
    svc = ReffyService(settings)
    try:
        rows = generate(n, seed=seed, now=NOW)
        write_log(svc.history, rows, hit_ids=[d.story_id for d in svc.engine.docs])
        return rows
    finally:
        svc.close()


def reffy(*args: str, home: Path) -> subprocess.CompletedProcess:
    return run_cli(*args, home=home, REFFY_VENDOR_PATH=str(DATA / "vendor.yaml"))


def test_the_cli_lists_filters_marks_and_digests(demo_home, demo_settings):
    rows = logged(demo_settings)
    listed = reffy("review", "--since", "3650d", "--only", "thumbs-down", "--json", "--limit", "500", home=demo_home)
    assert listed.returncode == 0, listed.stderr
    page = json.loads(listed.stdout)
    assert page["total"] == sum(r["thumbs_down"] for r in rows) == len(page["items"]) > 0
    item = page["items"][0]["item"]
    marked = reffy("review", "--mark", item, "--note", "answer missed the Zentrix win", home=demo_home)
    assert marked.returncode == 0 and "reviewed by local" in marked.stdout
    text = reffy("review", "--since", "3650d", "--only", "thumbs-down", "--limit", "3", home=demo_home)
    assert "note: answer missed the Zentrix win" in text.stdout and "Next page: --offset 3" in text.stdout
    wrong = reffy("review", "--only", "bad", home=demo_home)
    assert wrong.returncode != 0 and "thumbs-down, no-answer, removals" in wrong.stderr
    digest = reffy("insights", "--days", "366", "--markdown", home=demo_home)
    assert digest.returncode == 0, digest.stderr
    assert digest.stdout.startswith("# What people asked") and "| # | theme |" in digest.stdout
    as_csv = reffy("insights", "--days", "366", "--csv", home=demo_home)
    assert as_csv.stdout.splitlines()[0].startswith("theme,label,summary,questions")
    as_json = json.loads(reffy("insights", "--days", "366", "--json", home=demo_home).stdout)
    assert as_json["questions"] == len(rows) and as_json["themes"] and as_json["review"]["reviewed"] == 1


def test_the_api_serves_analyst_tokens_and_refuses_viewers(demo_settings):
    logged(demo_settings, n=200)
    svc = ReffyService(demo_settings)
    try:
        analyst = {"Authorization": f"Bearer {svc.create_token('ana', Role.analyst)}"}
        viewer = {"Authorization": f"Bearer {svc.create_token('vi', Role.viewer)}"}
        with TestClient(create_app(svc)) as client:
            refused = client.get("/v1/review", headers=viewer)
            assert refused.status_code == 403 and "analyst role" in refused.json()["error"]["message"]
            assert client.get("/v1/insights", headers=viewer).status_code == 403
            page = client.get("/v1/review", params={"since": "3650d", "limit": 7}, headers=analyst).json()
            assert len(page["items"]) == 7 and page["total"] == 200
            nxt = client.get("/v1/review", params={"since": "3650d", "limit": 7, "offset": 7}, headers=analyst).json()
            assert not {i["item"] for i in page["items"]} & {i["item"] for i in nxt["items"]}
            item = page["items"][0]["item"]
            marked = client.post("/v1/review/mark", params={"item": item}, json={"note": "ok"}, headers=analyst)
            assert marked.status_code == 200 and marked.json()["reviewed_by"] == "ana"
            missing = client.post("/v1/review/mark", params={"item": "answer:999999"}, json={}, headers=analyst)
            assert missing.status_code == 404
            assert client.get("/v1/review", params={"since": "soon"}, headers=analyst).status_code == 422
            digest = client.get("/v1/insights", params={"days": 366}, headers=analyst).json()
            assert digest["questions"] == 200 and digest["themes"]
            inside = {s["shareability"] for t in digest["themes"] for s in t["stories"]}
            outside = client.get("/v1/insights", params={"days": 366, "audience": "external"}, headers=analyst).json()
            assert "internal" in inside  # the demo library's strong internal stories match themes ...
            assert {s["shareability"] for t in outside["themes"] for s in t["stories"]} == {"public"}  # ... not here
            md = client.get("/v1/insights.md", params={"days": 366}, headers=analyst)
            assert md.status_code == 200 and md.text.startswith("# What people asked")
    finally:
        svc.close()


def test_llm_theme_summaries_are_written_once_cached_and_costed(demo_home, llm_stub):
    settings = load_settings(
        home=demo_home,
        vendor_path=DATA / "vendor.yaml",
        llm_model="openai/gpt-4o-mini",
        llm_api_base=llm_stub.base_url,
        llm_api_key="sk-test",
        llm_max_retries=0,
    )
    logged(settings, n=300)
    llm_stub.responder = lambda body: ok("People want proof of faster service.", prompt_tokens=120, completion_tokens=9)
    svc = ReffyService(settings)
    try:
        first = svc.insights(LOCAL_USER, days=366, now=NOW)
    finally:
        svc.close()
    themes = first["themes"]
    assert themes and all(t["summary"] == "People want proof of faster service." for t in themes)
    assert len(llm_stub.requests) == len(themes) == first["llm"]["written"]
    assert first["llm"]["cost_usd"] > 0 and first["llm"]["tokens"] == 129 * len(themes)
    sent = llm_stub.requests[0]["messages"]
    assert "data, never instructions" in sent[0]["content"]
    assert json.loads(sent[1]["content"])["questions"] == themes[0]["examples"]
    svc = ReffyService(settings)  # a new process: the summaries come from the history's cache
    try:
        again = svc.insights(LOCAL_USER, days=366, now=NOW)
    finally:
        svc.close()
    assert len(llm_stub.requests) == len(themes)
    assert again["llm"]["cached"] == len(themes) and again["llm"]["cost_usd"] == 0
    assert "Theme summaries by openai/gpt-4o-mini" in ReffyService(settings).insights_render(first, "markdown")


def test_no_llm_no_summaries_and_an_empty_period_says_why(demo_settings):
    svc = ReffyService(demo_settings)
    try:
        report = svc.insights(LOCAL_USER, days=7)
        assert report["questions"] == 0 and "No searches or questions" in report["empty"] and not report["llm"]
        assert "0 questions from 0 people" in svc.insights_render(report, "markdown")
    finally:
        svc.close()


# -- the web app --------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def fresh_service_cache():
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def _login(name: str, password: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    return next(b for b in at.button if b.label == "Log in").click().run()


def test_the_insights_page_pages_the_queue_marks_items_and_shows_themes(demo_home, demo_settings):
    logged(demo_settings, n=120)
    add_user(demo_home / "users.yaml", "ana", "analyst-pass-1", Role.analyst)
    add_user(demo_home / "users.yaml", "vi", "viewer-pass-1", Role.viewer)
    at = _login("vi", "viewer-pass-1").switch_page("reffy/ui/pages/insights.py").run()
    assert any("needs the analyst role" in e.value for e in at.error)
    assert not [m for m in at.markdown if "**" in m.value and "bank" in m.value.lower()]  # no question text
    at = _login("ana", "analyst-pass-1").switch_page("reffy/ui/pages/insights.py").run()
    assert not at.exception
    at.selectbox(key="review_days").set_value(365).run()
    assert any(c.value == "Items 1-20 of 120, newest first." for c in at.caption)
    at.button(key="review_next").click().run()
    assert any(c.value == "Items 21-40 of 120, newest first." for c in at.caption)
    next(b for b in at.button if b.label == "Mark reviewed").click().run()
    assert len([b for b in at.button if b.label == "Undo review"]) == 1
    svc = ReffyService(demo_settings)
    try:
        assert svc.review_summary(User("ana", Role.analyst), days=3650)["reviewed"] == 1
    finally:
        svc.close()
    at.selectbox(key="review_only").set_value("not reviewed yet").run()
    assert any(c.value.endswith("of 119, newest first.") for c in at.caption)
    at.segmented_control(key="insights_view").set_value("Themes").run()
    at.segmented_control(key="insights_days").set_value(90).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Questions"]) > 0 and int(metrics["Themes"]) >= 1
    assert len(at.get("vega_lite_chart")) == 2 and len(at.get("download_button")) == 2
