"""A real `reffy sources` / `reffy sync` session, for the README: the generated vendor website
(tests/sitegen.py) served on 127.0.0.1 and the demo's blog folder, synced, the site changed
(one story edited, one taken down), synced again, searched. Prints the console session.

Usage: ``python eval/sync_session.py`` (a private REFFY_HOME in a temporary folder).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from sitegen import Site, serve_site  # noqa: E402


def main() -> None:
    site = Site()
    with tempfile.TemporaryDirectory(prefix="reffy-sync-session-") as tmp, serve_site(site) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REFFY_") or k == "REFFY_MODEL_CACHE_DIR"}
        env |= {"REFFY_HOME": str(Path(tmp) / "home"), "REFFY_ALLOW_PRIVATE_URLS": "true", "REFFY_CRAWL_DELAY_S": "0"}
        base = server.url("")

        def run(command: str, note: str = "") -> None:
            shown = command.replace(base, "http://127.0.0.1:8800")
            print(f"$ {shown}" + (f"   # {note}" if note else ""))
            out = subprocess.run(shlex.split(command), env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
            # the checkout's own path reads as the relative path a user typed (`data/blog`)
            text = (out.stdout + out.stderr).replace(base, "http://127.0.0.1:8800").replace(f"{REPO}/", "").rstrip()
            if text:
                print(text)

        print("$ export REFFY_ALLOW_PRIVATE_URLS=true REFFY_CRAWL_DELAY_S=0   # this site runs on 127.0.0.1")
        run(f"reffy sources add {base}/sitemap_index.xml --name vendor-site --include '/customers/*' --every 6h")
        run("reffy sources add data/blog --name blog --meta shareability=public")
        run("reffy sync")
        run("reffy sources list")
        edited, gone = site.pages["/customers/story-010"], site.pages["/customers/story-033"]
        edited_company = edited.title.removeprefix("How ").split(" cut ")[0]
        gone_company = gone.title.removeprefix("How ").split(" cut ")[0]
        site.change("/customers/story-010")
        site.take_down("/customers/story-033")
        print(f"# on the site: {edited_company}'s story is edited, {gone_company}'s is taken down")
        run("reffy sync")
        run(f'reffy search "{edited_company}" --mode keyword --k 1')
        run(f'reffy search "{gone_company}" --mode keyword --k 1', "removed: no longer found")


if __name__ == "__main__":
    main()
