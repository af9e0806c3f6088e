"""``/v1/sources`` over a real service (TestClient): admin tokens register, sync (a background
job) and remove sources; analysts read them; everyone else is refused by the service."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sitegen import Site, serve_site
from test_sync_cli import story_file

from reffy.api import create_app
from reffy.auth import Role
from reffy.config import load_settings
from reffy.service import ReffyService


@pytest.fixture
def svc(home: Path) -> Iterator[ReffyService]:
    # the local site is on 127.0.0.1: private addresses allowed, as in the web tests
    service = ReffyService(load_settings(home=home, allow_private_urls=True, crawl_delay_s=0.0))
    yield service
    service.close()


@pytest.fixture
def client(svc: ReffyService) -> Iterator[TestClient]:
    with TestClient(create_app(svc)) as c:
        yield c


def auth(svc: ReffyService, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {svc.create_token(f'{role.value}-user', role)}"}


def wait_for(svc: ReffyService, job_id: int, timeout: float = 240.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = svc.job_runner.store.get(job_id)
        if job is not None and not job.running:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_register_sync_and_remove_through_the_api(svc: ReffyService, client: TestClient, tmp_path: Path) -> None:
    admin, analyst, viewer = (auth(svc, r) for r in (Role.admin, Role.analyst, Role.viewer))
    folder = tmp_path / "decks"
    folder.mkdir()
    story_file(folder, "nordvik", "Nordvik Bank", 38)
    server_folder = client.post("/v1/sources", json={"spec": str(folder)}, headers=admin)
    assert server_folder.status_code == 403  # folders of the server: from its command line only
    assert "reffy sources add PATH" in server_folder.json()["error"]["message"]
    with serve_site(Site(stories=2)) as site:
        sitemap = site.url("/sitemap_index.xml")
        refused = client.post("/v1/sources", json={"spec": sitemap}, headers=analyst)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
        bad = client.post("/v1/sources", json={"spec": sitemap, "every": "sometimes"}, headers=admin)
        assert bad.status_code == 400 and "30m, 6h, 1d" in bad.json()["error"]["message"]
        created = client.post("/v1/sources", json={"spec": sitemap, "name": "site", "every": "6h"}, headers=admin)
        assert created.status_code == 201, created.text
        assert created.json()["kind"] == "sitemap" and created.json()["every"] == "6h"
        assert created.json()["status"] == "never synced"
        assert client.get("/v1/sources", headers=viewer).status_code == 403
        assert [s["name"] for s in client.get("/v1/sources", headers=analyst).json()] == ["site"]

        assert client.post("/v1/sources/sync", json={"names": ["nope"]}, headers=admin).status_code == 404
        started = client.post("/v1/sources/sync", json={}, headers=admin)
        assert started.status_code == 202 and started.json()["kind"] == "sync"
        job = wait_for(svc, started.json()["id"])
    assert job.status == "completed", job.error
    assert job.result["sync"]["sources"]["site"]["new"] == 4  # 2 stories, the slow page, the redirect
    assert any(line.startswith("site: 4 new") for line in job.report())
    [row] = client.get("/v1/sources", headers=analyst).json()
    assert (row["status"], row["records"]) == ("completed", 4)
    [run] = client.get("/v1/sources/runs", headers=analyst).json()
    assert run["status"] == "completed" and run["downstream"]["index"]["stories"] == 4

    assert client.delete("/v1/sources/nope", headers=admin).status_code == 404
    assert client.delete("/v1/sources/site", headers=analyst).status_code == 403
    removing = client.delete("/v1/sources/site", headers=admin)
    assert removing.status_code == 202
    job = wait_for(svc, removing.json()["id"])
    assert job.status == "completed", job.error
    assert job.result["remove"]["removed"] == 4
    assert client.get("/v1/sources", headers=analyst).json() == []
    assert not svc.search("Quillon", mode="keyword", log=False).hits


def test_a_sync_running_elsewhere_is_a_409(svc: ReffyService, client: TestClient, tmp_path: Path) -> None:
    from ingest.sync import SyncLock

    admin = auth(svc, Role.admin)
    feed = {"spec": "https://vendor.example/feed.xml", "name": "decks"}  # registered only: never fetched here
    assert client.post("/v1/sources", json=feed, headers=admin).status_code == 201
    with SyncLock(svc.settings, "sync all"):  # as `reffy sync` in a terminal holds it
        busy = client.post("/v1/sources/sync", json={}, headers=admin)
        assert busy.status_code == 409 and busy.json()["error"]["code"] == "sync_running"
        assert "A sync is already running" in busy.json()["error"]["message"]
        assert client.delete("/v1/sources/decks", headers=admin).status_code == 409
    assert svc.job_runner.store.recent(1) == []  # no job was started
