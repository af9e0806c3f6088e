"""The README's demo session, regenerated from a real run so that it cannot go stale.

    python eval/readme_session.py            # rebuild the demo library, rewrite README.md's session
    python eval/readme_session.py --print    # print the session instead

Runs each command of :data:`SESSION` as a fresh process on a demo library built into a temporary
home (`reffy demo --no-app --home ...`), at a fixed terminal width, and writes prompt and output
between the ``<!-- session:begin -->`` and ``<!-- session:end -->`` markers of README.md. Paths are
written as a user sees them (the checkout as ``.``, the home as the demo's default home). Timings
are the run's own, with the machine's load average noted above the block.
``tests/adapters/test_readme_session.py`` replays the commands against a freshly built demo library and
compares their output with the README (timings masked), so a change that alters what a user sees
fails until this script is run again.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
BEGIN, END = "<!-- session:begin -->", "<!-- session:end -->"
WIDTH = 110
DEFAULT_HOME = "~/.local/share/reffy-demo"

# (the command as the README shows it, with a comment; its arguments). `reffy demo` is run by
# ``build`` (with --no-app and a temporary home) and shown as a user runs it.
SESSION: list[tuple[str, list[str]]] = [
    (
        'reffy search "bank that cut call handling time" --k 3',
        ["search", "bank that cut call handling time", "--k", "3"],
    ),
    (
        "reffy story 93c49c676e43                # a story by the id search printed: facts, outcomes, quotes, rubric",
        ["story", "93c49c676e43"],
    ),
    (
        'reffy search "claims automation" --filter industry=insurence   # a mistyped value: told the valid ones',
        ["search", "claims automation", "--filter", "industry=insurence"],
    ),
    (
        'reffy ask "Which bank reduced call handling time?"   # offline: an extractive brief with citations',
        ["ask", "Which bank reduced call handling time?"],
    ),
    ("reffy ingest data/                      # nothing changed: nothing new", ["ingest", "data/"]),
]
TIMING = re.compile(r"\d+(?:\.\d+)?\s?(?:ms|s)\b")


def env_for(home: Path) -> dict[str, str]:
    env = {**os.environ, "REFFY_HOME": str(home), "COLUMNS": str(WIDTH), "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run(args: list[str], home: Path) -> str:
    """One command as a user runs it, from the checkout: its output (stdout, then stderr), with
    paths as the user sees them."""
    out = subprocess.run(
        [sys.executable, "-m", "reffy.cli", *args],
        cwd=REPO,
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    return normalise(out.stdout + out.stderr, home)


def normalise(text: str, home: Path) -> str:
    text = text.replace(str(home), DEFAULT_HOME).replace(f"file://{REPO}/", "file://./").replace(str(REPO), ".")
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def build(home: Path) -> str:
    """Build the demo library into ``home``; its output as `reffy demo` prints it."""
    out = subprocess.run(
        [sys.executable, "-m", "reffy.cli", "demo", "--no-app", "--home", str(home)],
        cwd=REPO,
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    return normalise(out.stdout, home)


def session(home: Path, demo_output: str) -> str:
    parts = [
        "$ reffy demo --no-app                    # `reffy demo` then starts the app on it",
        demo_output,
        f"$ export REFFY_HOME={DEFAULT_HOME}",
    ]
    for shown, args in SESSION:
        parts += [f"$ {shown}", run(args, home)]
    return "\n".join(parts)


def block(text: str) -> str:
    load = os.getloadavg()[0]
    return (
        f"{BEGIN}\nA session on the bundled demo library, written by `python eval/readme_session.py` from a real run "
        f"(load average {load:.1f} on {os.cpu_count()} cores):\n\n```console\n{text}\n```\n{END}"
    )


def readme_session(readme: str) -> str:
    """The console text between the markers of ``readme``."""
    start, end = readme.index(BEGIN), readme.index(END)
    return re.search(r"```console\n(.*?)\n```", readme[start:end], re.S).group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--print", action="store_true", help="Print the session; leave README.md as it is.")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="reffy-readme-")) / "demo"
    text = session(home, build(home))
    if args.print:
        print(text)
        return
    readme = README.read_text(encoding="utf-8")
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    README.write_text(readme[:start] + block(text) + readme[end:], encoding="utf-8")
    print(f"README.md: session rewritten ({text.count(chr(10)) + 1} lines)")


if __name__ == "__main__":
    main()
