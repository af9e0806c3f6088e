"""Which story an override names: a story id or its printed prefix, a source record id, or the
source file by its absolute path, a path relative to the working directory, or a bare file name
(as in the README's `reffy override nordvik-bank.md ...`) when one source ends with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA
from helpers import query, story

from reffy.errors import AmbiguousId, OverrideError
from reffy.service import ReffyService


@pytest.fixture
def lib(settings, tmp_path: Path) -> tuple[ReffyService, Path]:
    root = tmp_path / "lib"
    files = {"website/nordvik-bank.md": story(1), "blog/nordvik-bank.md": story(2), "a.md": story(3)}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"# {name}\n\n{text}\n", encoding="utf-8")
    rows = [{"id": slug, "title": f"Story {slug}", "text": story(n)} for n, slug in ((4, "s-one"), (5, "s-two"))]
    (root / "stories.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    svc = ReffyService(settings)
    svc.ingest([str(root)])
    yield svc, root
    svc.close()


def target(svc: ReffyService, ref: str) -> str:
    """The source file (and record) an override on ``ref`` lands on."""
    svc.set_override(ref, "customer", "X", author="t", reason="")
    ((origin, rid),) = query(
        svc.settings.home,
        "SELECT b.origin, b.source_record_id FROM overrides o JOIN bronze_current b USING (record_key)",
    )
    assert svc.remove_override(ref, "customer")
    return Path(origin).relative_to(svc.settings.home.parent / "lib").as_posix() + (f"#{rid}" if rid else "")


def test_relative_paths_and_file_names_name_their_story(lib, monkeypatch: pytest.MonkeyPatch) -> None:
    svc, root = lib
    monkeypatch.chdir(root.parent)
    assert target(svc, "lib/a.md") == "a.md"
    assert target(svc, "./lib/website/nordvik-bank.md") == "website/nordvik-bank.md"
    assert target(svc, "a.md") == "a.md"  # a bare name that one source has
    assert target(svc, "blog/nordvik-bank.md") == "blog/nordvik-bank.md"  # the end of a path
    assert target(svc, str(root / "a.md")) == "a.md"
    assert target(svc, "s-two") == "stories.jsonl#s-two"
    monkeypatch.chdir(root / "website")
    assert target(svc, "nordvik-bank.md") == "website/nordvik-bank.md"  # the file right here wins
    assert target(svc, "../blog/nordvik-bank.md") == "blog/nordvik-bank.md"


def test_a_short_story_id_names_its_story(lib) -> None:
    svc, root = lib
    (story_id,) = query(svc.settings.home, "SELECT id FROM bronze_current WHERE origin = ?", [str(root / "a.md")])[0]
    assert target(svc, story_id[:12]) == "a.md"
    assert target(svc, story_id) == "a.md"


def test_a_name_several_sources_share_is_refused_with_the_candidates(lib, monkeypatch) -> None:
    svc, root = lib
    monkeypatch.chdir(root.parent)
    with pytest.raises(AmbiguousId) as info:
        svc.set_override("nordvik-bank.md", "customer", "X", author="t", reason="")
    message = str(info.value)
    assert "'nordvik-bank.md' matches 2 stories" in message
    assert str(root / "website" / "nordvik-bank.md") in message and str(root / "blog" / "nordvik-bank.md") in message
    with pytest.raises(AmbiguousId) as info:
        svc.set_override("stories.jsonl", "customer", "X", author="t", reason="")
    assert "s-one" in str(info.value) and "s-two" in str(info.value) and "source record id" in str(info.value)
    with pytest.raises(OverrideError, match=r"No current story matches 'nothing\.md'.*file's path or name"):
        svc.set_override("nothing.md", "customer", "X", author="t", reason="")
    assert query(svc.settings.home, "SELECT count(*) FROM overrides") == [(0,)]


def test_the_readme_override_example_works_from_the_command_line(home: Path, tmp_path: Path) -> None:
    """`reffy override nordvik-bank.md customer "Nordvik Bank A/S" --reason "legal name"`, as the
    README has it, on a library holding the demo's nordvik-bank.md; then by the printed id."""
    folder = tmp_path / "website"
    folder.mkdir()
    (folder / "nordvik-bank.md").write_bytes((DATA / "website" / "nordvik-bank.md").read_bytes())
    env = {**os.environ, "REFFY_HOME": str(home)}

    def reffy(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "reffy.cli", *args], env=env, capture_output=True, text=True, cwd=tmp_path
        )

    assert reffy("ingest", "website").returncode == 0
    done = reffy("override", "nordvik-bank.md", "customer", "Nordvik Bank A/S", "--reason", "legal name")
    assert done.returncode == 0, done.stderr
    assert 'customer = "Nordvik Bank A/S"' in done.stdout
    listed = reffy("overrides").stdout
    short = listed.split()[0]
    assert len(short) == 12 and "legal name" in listed
    again = reffy("override", short, "shareability", "public", "--reason", "approved")
    assert again.returncode == 0, again.stderr
    assert len(reffy("overrides", "--json").stdout and json.loads(reffy("overrides", "--json").stdout)) == 2
