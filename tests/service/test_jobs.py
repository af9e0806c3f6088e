"""Background pipeline runs (reffy.jobs through the service) on a real copy of the demo library:
a run started from a thread that then goes away (as a page script does when its browser leaves)
still reads, scores, builds and indexes, and says so with its counts; pasted lines that are not
web addresses are problems of their own; one run at a time; a run whose server died is shown as
interrupted and can be resumed. The app and browser sides are in test_app.py / test_browser.py."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import STORY

from reffy.auth import LOCAL_USER, Role, User
from reffy.config import load_settings
from reffy.errors import ConfigError, JobRunning, PermissionDenied
from reffy.jobs import Job
from reffy.service import ReffyService

DATA = Path(__file__).resolve().parents[2] / "data"
ADMIN = User("ad", Role.admin)


@pytest.fixture
def svc(demo_home: Path):
    service = ReffyService(load_settings(home=demo_home, vendor_path=DATA / "vendor.yaml", score_workers=1))
    yield service
    service.close()


def story_file(customer: str) -> tuple[str, bytes]:
    text = f"# {customer} cuts claim handling time\n\n" + STORY.replace("Nordvik Bank", customer)
    return f"{customer.lower().replace(' ', '-')}.md", text.encode()


def finished(svc: ReffyService, job_id: int, timeout: float = 600) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = next(j for j in svc.jobs(LOCAL_USER, limit=10) if j.id == job_id)
        if not job.running:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job.stage}: {job.message}"
        time.sleep(0.2)


def test_a_run_outlives_the_thread_that_started_it_and_reports_its_counts(svc: ReffyService, demo_home: Path):
    before = len(svc.engine.docs)  # gold rows, public twins included
    started: list[Job] = []
    page = threading.Thread(
        target=lambda: started.append(svc.start_pipeline(ADMIN, uploads=[story_file("Kestrel Mutual")]))
    )
    page.start()
    page.join()  # the "page" is gone before the run has got far
    assert not page.is_alive() and started[0].running

    job = finished(svc, started[0].id)
    assert job.status == "completed", job.error
    assert job.stage == "done" and job.fraction == 1.0 and job.user == "ad"
    assert job.result["ingest"]["new"] == 1 and job.result["ingest"]["errors"] == 0
    assert job.result["score"]["scored"] == 1 and job.result["score"]["failed"] == 0
    assert job.result["build"]["stories"] == before + 1
    assert job.result["index"]["stories"] == before + 1
    assert job.report()[0] == "Read 1 story: 1 new, 0 updated, 0 unchanged, 0 problems."
    assert svc.job_problems(LOCAL_USER, job) == []
    assert (demo_home / "uploads" / "kestrel-mutual.md").is_file()

    other = ReffyService(load_settings(home=demo_home, vendor_path=DATA / "vendor.yaml"))  # another process's view
    try:
        assert other.jobs(LOCAL_USER)[0].status == "completed"
        hits = other.search("Kestrel Mutual claim handling", mode="keyword", k=3, log=False).hits
        assert hits[0].customer == "Kestrel Mutual"  # searchable: the run built gold and the index
    finally:
        other.close()


def test_lines_that_are_not_web_addresses_are_problems_while_the_rest_is_read(svc: ReffyService):
    job = svc.start_pipeline(
        ADMIN,
        urls="not a url\n\n# a comment\n/etc/passwd\nhttps://\n",
        full=False,
        uploads=[story_file("Wrenfield Health")],
    )
    assert [p["line"] for p in job.problems] == ["not a url", "/etc/passwd", "https://"]
    job = finished(svc, job.id)
    assert job.status == "partial"
    assert job.result["ingest"]["new"] == 1 and job.result["ingest"]["errors"] == 3
    assert "score" not in job.result  # ingest only, as asked
    problems = svc.job_problems(LOCAL_USER, job)
    assert [(p["reason"], p["origin"]) for p in problems] == [
        ("not_a_url", "not a url"),
        ("not_a_url", "/etc/passwd"),
        ("not_a_url", "https://"),
    ]
    assert problems[1]["detail"].startswith("Line 4 ('/etc/passwd') is not a web address")
    assert "upload files" in problems[1]["detail"]


def test_nothing_readable_is_refused_before_a_run_starts(svc: ReffyService):
    with pytest.raises(ConfigError, match=r"Line 1 .* is not a web address"):
        svc.start_pipeline(ADMIN, urls="C:\\stories\\nordvik.md")
    with pytest.raises(ConfigError, match="upload a file or paste a web address"):
        svc.start_pipeline(ADMIN, urls="\n  \n")
    assert svc.jobs(LOCAL_USER) == []


def test_one_run_at_a_time(svc: ReffyService):
    first = svc.start_pipeline(ADMIN, uploads=[story_file("Kestrel Mutual")])
    with pytest.raises(JobRunning, match=r"already going \(started by ad at .* UTC, now: .*Ingest page"):
        svc.start_pipeline(ADMIN, uploads=[story_file("Wrenfield Health")])
    assert finished(svc, first.id).status == "completed"
    second = svc.start_pipeline(ADMIN, uploads=[story_file("Wrenfield Health")], full=False)
    assert finished(svc, second.id).status == "completed"


def test_a_run_whose_server_died_is_interrupted_and_resumes(svc: ReffyService):
    name, data = story_file("Kestrel Mutual")
    path = svc.save_uploads(ADMIN, [(name, data)])[0]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store = svc.job_runner.store
    job = store.create("ad", [path], {"full": True}, [])  # as a server that was then killed would leave it
    store.update(job.id, pid=int(dead.stdout), stage="score")

    stopped = svc.jobs(LOCAL_USER)[0]
    assert stopped.status == "interrupted"
    assert (
        stopped.error
        == "The server stopped during the score step. Resume the run: what was already read and scored is kept."
    )
    resumed = svc.resume_job(ADMIN, stopped.id)
    assert resumed.specs == [path]
    done = finished(svc, resumed.id)
    assert done.status == "completed" and done.result["ingest"]["new"] == 1
    with pytest.raises(ConfigError, match="only a stopped run can be resumed"):
        svc.resume_job(ADMIN, done.id)


def test_only_admins_start_runs_and_analysts_see_them(svc: ReffyService):
    with pytest.raises(PermissionDenied, match="ingest needs the admin role"):
        svc.start_pipeline(User("ana", Role.analyst), urls="https://example.com/story")
    with pytest.raises(PermissionDenied):
        svc.jobs(User("mo", Role.member))
    assert svc.jobs(User("ana", Role.analyst)) == []
