"""The README's demo session is what the commands print today: each command it shows is run
again on a freshly built demo library and its output compared with the README's, timings and
dates masked. When a change alters what a user sees, this fails until the session is
regenerated (`python eval/readme_session.py`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "eval"))

import readme_session  # noqa: E402

README = (REPO / "README.md").read_text(encoding="utf-8")
SHOWN = readme_session.readme_session(README)
MASKS = [
    (readme_session.TIMING, "<time>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}Z?)?"), "<when>"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<conversation id>"),
]


def masked(text: str) -> str:
    for pattern, token in MASKS:
        text = pattern.sub(token, text)
    return text


def shown_output(command: str) -> str:
    """The README's output of ``$ command``: the lines up to the next prompt."""
    start = SHOWN.index(f"$ {command}\n") + len(command) + 3
    end = SHOWN.find("\n$ ", start)
    return SHOWN[start : end if end >= 0 else None]


def test_the_session_shows_every_command_and_only_real_output() -> None:
    prompts = [line[2:] for line in SHOWN.splitlines() if line.startswith("$ ")]
    assert prompts[2:] == [shown for shown, _ in readme_session.SESSION]
    assert "/work/" not in SHOWN and "/tmp/" not in SHOWN  # paths as a user sees them


@pytest.mark.parametrize(("shown", "args"), readme_session.SESSION, ids=[a[0] for _, a in readme_session.SESSION])
def test_each_command_prints_what_the_readme_shows(demo_home: Path, shown: str, args: list[str]) -> None:
    assert masked(readme_session.run(args, demo_home)) == masked(shown_output(shown))


def test_the_demo_build_counts_are_todays(demo_home: Path) -> None:
    from helpers import query

    [(stories, public, internal)] = query(
        demo_home,
        "SELECT count(*), count(*) FILTER (shareability = 'public'),"
        " count(*) FILTER (shareability = 'internal') FROM gold_stories",
    )
    gold = re.search(r"Gold built in \S+ (\d+) stories \((\d+) public, (\d+) internal\)", SHOWN)
    assert gold, "the session shows the gold build"
    assert tuple(map(int, gold.groups())) == (stories, public, internal)
