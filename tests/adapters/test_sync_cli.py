"""`reffy sources add|list|remove` and `reffy sync` as people run them: the CLI in-process and as
subprocesses (the lock, --watch with SIGTERM, a kill -9 in the middle of a sync)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sitegen import Site, serve_site
from typer.testing import CliRunner

from ingest.sync import SyncLock
from reffy.auth import LOCAL_USER, Role, User
from reffy.cli import app
from reffy.config import load_settings
from reffy.errors import ConfigError, NotFound, PermissionDenied, SourceNotFound
from reffy.service import ReffyService
from reffy.store.warehouse import open_warehouse

REPO = Path(__file__).resolve().parents[2]


def story_file(folder: Path, name: str, company: str, figure: int) -> Path:
    path = folder / f"{name}.md"
    path.write_text(
        f"# How {company} cut handling time by {figure}%\n\n"
        f"{company} is a bank in Denmark with 400 agents in its contact centre. Calls took {figure + 5} minutes.\n\n"
        "It rolled out Quillon Assist to every agent in three waves over six months, starting with cards.\n\n"
        f"Average handling time fell by {figure}% and first-contact resolution rose from 71% to 83%.\n\n"
        f"\u201cWe absorbed a 14% rise in calls without hiring,\u201d said Maria Jensen, head of {company} service.\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def stories(tmp_path: Path) -> Path:
    folder = tmp_path / "stories"
    folder.mkdir()
    story_file(folder, "nordvik", "Nordvik Bank", 38)
    story_file(folder, "brightwater", "Brightwater Bank", 22)
    return folder


def cli(*args: str) -> dict | str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in args else result.output


def test_add_list_sync_remove(home: Path, stories: Path) -> None:
    added = cli("sources", "add", str(stories), "--name", "decks", "--meta", "shareability=public", "--json")
    assert (added["name"], added["kind"], added["spec"]) == ("decks", "folder", str(stories))
    assert added["options"] == {"meta": {"shareability": "public"}} and added["status"] == "never synced"
    [row] = cli("sources", "list", "--json")
    assert row["name"] == "decks" and row["last_sync_at"] is None

    report = cli("sync", "--json")
    assert report["sources"]["decks"]["new"] == 2 and report["downstream"]["index"]["stories"] == 2
    [row] = cli("sources", "list", "--json")
    assert (row["status"], row["records"], row["problems"]) == ("completed", 2, 0)
    svc = ReffyService(load_settings(home=home))
    assert [h.title for h in svc.search("Brightwater", mode="keyword", k=3, log=False).hits][:1] == [
        "How Brightwater Bank cut handling time by 22%"
    ]
    assert "decks" in cli("sources", "list")

    (stories / "brightwater.md").unlink()
    story_file(stories, "nordvik", "Nordvik Bank", 41)  # edited
    report = cli("sync", "decks", "--json")
    counts = report["sources"]["decks"]
    assert (counts["new"], counts["updated"], counts["removed"]) == (0, 1, 1)

    out = cli("sources", "remove", "decks")
    assert "Removed source decks and 1 of its stories." in out
    assert cli("sources", "list", "--json") == []
    svc = ReffyService(load_settings(home=home))
    assert not svc.search("Nordvik", mode="keyword", k=3, log=False).hits


def test_remove_keep_stories_and_due_sources(home: Path, stories: Path, tmp_path: Path) -> None:
    svc = ReffyService(load_settings(home=home))
    svc.add_source(LOCAL_USER, str(stories), name="kept", every="1h")
    svc.sync(LOCAL_USER)
    other = tmp_path / "other"
    other.mkdir()
    story_file(other, "sable", "Sable Bank", 30)
    svc.add_source(LOCAL_USER, str(other), name="later")
    due = svc.sync(LOCAL_USER, due=True)
    assert [s.name for s in due.sources] == ["later"]  # "kept" is not due for an hour
    assert svc.sync(LOCAL_USER, due=True).sources == []
    out = svc.remove_source(LOCAL_USER, "kept", keep_stories=True)
    assert out["removed"] == 0
    assert [h.title for h in svc.search("Nordvik", mode="keyword", k=3, log=False).hits][:1] == [
        "How Nordvik Bank cut handling time by 38%"
    ]


def test_mistakes_are_told_how_to_fix(home: Path, stories: Path) -> None:
    svc = ReffyService(load_settings(home=home))
    with pytest.raises(ConfigError, match="30m, 6h, 1d"):
        svc.add_source(LOCAL_USER, str(stories), every="often")
    with pytest.raises(ConfigError, match="under a minute"):
        svc.add_source(LOCAL_USER, str(stories), every="10s")
    with pytest.raises(ConfigError, match="auto, page, feed, sitemap, crawl"):
        svc.add_source(LOCAL_USER, "https://vendor.example/customers/", kind="spider")
    with pytest.raises(SourceNotFound, match="No such file, folder or URL"):
        svc.add_source(LOCAL_USER, str(stories / "missing"))
    with pytest.raises(ConfigError, match="not a channel"):
        svc.add_source(LOCAL_USER, str(stories), match="customer")
    with pytest.raises(ConfigError, match="--kind crawl"):
        svc.add_source(LOCAL_USER, "https://vendor.example/customers/", max_pages=10)
    with pytest.raises(ConfigError, match="No source is registered"):
        svc.sync(LOCAL_USER)
    svc.add_source(LOCAL_USER, str(stories), name="decks")
    with pytest.raises(ConfigError, match="already registered"):
        svc.add_source(LOCAL_USER, str(stories), name="again")
    with pytest.raises(NotFound, match="registered: decks"):
        svc.sync(LOCAL_USER, ["dekcs"])
    with pytest.raises(NotFound, match="registered: decks"):
        svc.remove_source(LOCAL_USER, "dekcs")


def test_only_admins_manage_and_sync_sources(home: Path, stories: Path) -> None:
    svc = ReffyService(load_settings(home=home))
    analyst, member = User("ann", Role.analyst), User("mo", Role.member)
    for user in (analyst, member):
        with pytest.raises(PermissionDenied):
            svc.add_source(user, str(stories))
        with pytest.raises(PermissionDenied):
            svc.sync(user)
    svc.add_source(LOCAL_USER, str(stories), name="decks")
    assert [r["name"] for r in svc.sources(analyst)] == ["decks"]  # analysts see them, as Library status
    with pytest.raises(PermissionDenied):
        svc.sources(member)
    with pytest.raises(PermissionDenied):
        svc.remove_source(analyst, "decks")


def subprocess_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFFY_") or k == "REFFY_MODEL_CACHE_DIR"}
    env.update(
        {
            "REFFY_HOME": str(home),
            "REFFY_ALLOW_PRIVATE_URLS": "true",  # the test site is on 127.0.0.1
            "REFFY_CRAWL_DELAY_S": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def test_a_second_sync_is_refused_naming_the_first(home: Path, stories: Path) -> None:
    svc = ReffyService(load_settings(home=home))
    svc.add_source(LOCAL_USER, str(stories), name="decks")
    with SyncLock(svc.settings, "sync all"):
        done = subprocess.run(
            [sys.executable, "-m", "reffy.cli", "sync"],
            env=subprocess_env(home),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 5, done.stderr
    assert f"A sync is already running: process {os.getpid()}, started " in done.stderr
    assert "(sync all)" in done.stderr
    with open_warehouse(svc.settings.db_path) as con:
        assert con.execute("SELECT count(*) FROM bronze_records").fetchone()[0] == 0  # it read nothing


def test_watch_syncs_what_is_due_and_stops_on_sigterm(home: Path, stories: Path) -> None:
    svc = ReffyService(load_settings(home=home))
    svc.add_source(LOCAL_USER, str(stories), name="decks", every="6h")
    proc = subprocess.Popen(
        [sys.executable, "-m", "reffy.cli", "sync", "--watch"],
        env=subprocess_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Sync 1 completed"):
                break
        assert any(line.startswith("Sync 1 completed") for line in lines), "".join(lines)
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, rest
    assert "Stopped." in rest
    [row] = ReffyService(load_settings(home=home)).sources(LOCAL_USER)
    assert row["status"] == "completed" and row["records"] == 2


def test_kill_9_mid_sync_then_rerun_loses_and_duplicates_nothing(home: Path, tmp_path: Path) -> None:
    site = Site(stories=40, delay=0.15)
    with serve_site(site) as server:
        env = subprocess_env(home)
        add = [sys.executable, "-m", "reffy.cli", "sources", "add", server.url("/sitemap_index.xml"), "--name", "site"]
        subprocess.run(add, env=env, check=True, capture_output=True, timeout=120)
        proc = subprocess.Popen(
            [sys.executable, "-m", "reffy.cli", "sync"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while site.page_bodies() < 20 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        killed_after = site.page_bodies()
        assert 20 <= killed_after < len(site.allowed_paths), "the kill came too late to be mid-sync"

        rerun = subprocess.run(
            [sys.executable, "-m", "reffy.cli", "sync", "--json"], env=env, capture_output=True, text=True, timeout=600
        )
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    settings = load_settings(home=home)
    expected = sorted(server.url(p) for p in site.allowed_paths)
    with open_warehouse(settings.db_path) as con:
        current = [
            r[0]
            for r in con.execute(
                "SELECT origin FROM bronze_records WHERE superseded_at IS NULL AND removed_at IS NULL ORDER BY origin"
            ).fetchall()
        ]
        versions = con.execute("SELECT count(*) FROM bronze_records WHERE version > 1").fetchone()[0]
        interrupted = con.execute("SELECT count(*) FROM ingest_runs WHERE status = 'interrupted'").fetchone()[0]
        syncs = [r[0] for r in con.execute("SELECT status FROM sync_runs ORDER BY id").fetchall()]
        gold = con.execute("SELECT count(*) FROM gold_stories").fetchone()[0]
    assert current == expected  # every page once: nothing lost, nothing twice
    assert versions == 0  # nothing re-stored as a new version
    assert interrupted == 1 and syncs == ["interrupted", "completed"]
    assert report["sources"]["site"]["new"] + report["sources"]["site"]["unchanged"] == len(expected)
    assert report["downstream"]["index"]["stories"] == gold == len(expected)
    shutil.rmtree(home / "index", ignore_errors=True)  # (large; tmp_path is cleaned by pytest anyway)


def test_a_row_gone_from_a_sheet_export_is_removed(home: Path, tmp_path: Path) -> None:
    from ingest import registry
    from ingest.sync import read_source

    folder = tmp_path / "exports"
    folder.mkdir()
    text = "{} cut claims handling time by {}% after moving its intake to Quillon Flow across {} regional offices."
    rows = [("r1", "Globex Insurance", 41, 12), ("r2", "Initech Bank", 27, 8), ("r3", "Umbrella Retail", 33, 5)]

    def export(kept: list[tuple[str, str, int, int]]) -> None:
        lines = ["id,title,text"] + [f'{i},{name},"{text.format(name, a, b)}"' for i, name, a, b in kept]
        (folder / "crm.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    export(rows)
    settings = load_settings(home=home)
    svc = ReffyService(settings)
    svc.add_source(LOCAL_USER, str(folder), name="crm")
    with open_warehouse(settings.db_path) as con:
        source = registry.get_source(con, "crm")
    assert read_source(settings, source).counts["new"] == 3
    export([rows[0], rows[2]])  # the sheet lost a row
    done = read_source(settings, source)
    assert (done.counts["removed"], done.counts["unchanged"], done.counts["records"]) == (1, 2, 2)
