"""`reffy sync` on the generated 100-page website (tests/sitegen.py, served on 127.0.0.1): the
issue's targets, measured.

1. First sync of a sitemap source: requests per allowed page (target: each once), requests to
   pages robots.txt disallows (target: none), wall time (ingest, then score + build + index).
2. An immediate second sync: page bodies transferred (target: none; sitemap lastmod and 304s),
   wall time (target: <= 5 s).
3. One page changed, one taken down, sync again: stories updated and removed (target: exactly
   one each), bodies transferred, wall time.
4. The same three steps for a crawl source from the site's index page.

Usage: ``python eval/bench_sync.py [--json]``. The polite pause is off (REFFY_CRAWL_DELAY_S=0)
so the numbers measure Reffy rather than the pause; with the default 0.5 s the first sync takes
about 0.5 s per page longer, the no-op sync no longer (it requests no page).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the generated site lives beside the tests that use it

from sitegen import Site, serve_site  # noqa: E402

from reffy.auth import LOCAL_USER  # noqa: E402
from reffy.config import load_settings  # noqa: E402
from reffy.service import ReffyService  # noqa: E402


def _sync(svc: ReffyService, name: str) -> tuple[dict, float]:
    started = time.perf_counter()
    report = svc.sync(LOCAL_USER, [name])
    return report.as_dict(), time.perf_counter() - started


def _run(kind: str, spec_path: str, home: Path) -> dict:
    site = Site()
    with serve_site(site) as server:
        settings = load_settings(home=home, allow_private_urls=True, crawl_delay_s=0.0, http_timeout_s=10.0)
        svc = ReffyService(settings)
        options = {"kind": kind, "name": kind}
        if kind == "crawl":
            options |= {"max_pages": 500, "max_depth": 3}
        svc.add_source(LOCAL_USER, server.url(spec_path), **options)
        out: dict = {
            "kind": kind,
            "allowed_pages": len(site.allowed_paths),
            "disallowed_pages": len(site.disallowed_paths),
        }

        first, seconds = _sync(svc, kind)
        counts = first["sources"][kind]
        out["first"] = {
            "seconds": round(seconds, 2),
            "new": counts["new"],
            "page_bodies": site.page_bodies(),
            "max_requests_per_allowed_page": max(site.hits[p] for p in site.allowed_paths),
            "allowed_pages_requested_once": sum(site.hits[p] == 1 for p in site.allowed_paths),
            "disallowed_requests": sum(site.hits[p] for p in site.disallowed_paths),
            "gold_stories": (first["downstream"] or {}).get("build", {}).get("stories"),
        }

        site.reset_counts()
        second, seconds = _sync(svc, kind)
        counts = second["sources"][kind]
        out["second"] = {
            "seconds": round(seconds, 2),
            "unchanged": counts["unchanged"],
            "new_updated_removed": [counts["new"], counts["updated"], counts["removed"]],
            "page_bodies": site.page_bodies(),
            "page_requests": sum(n for p, n in site.hits.items() if p.startswith("/customers/") and p != "/customers/"),
            "not_modified_304": sum(site.not_modified.values()),
            "rebuilt": second["downstream"] is not None,
        }

        site.change("/customers/story-010")
        site.take_down("/customers/story-033")
        site.reset_counts()
        third, seconds = _sync(svc, kind)
        counts = third["sources"][kind]
        out["third"] = {
            "seconds": round(seconds, 2),
            "updated": counts["updated"],
            "removed": counts["removed"],
            "new": counts["new"],
            "page_bodies": site.page_bodies(),
            "gold_stories": (third["downstream"] or {}).get("build", {}).get("stories"),
        }
        svc.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results = {"load_before": os.getloadavg()[0], "cores": os.cpu_count()}
    for kind, path in (("sitemap", "/sitemap_index.xml"), ("crawl", "/customers/")):
        with tempfile.TemporaryDirectory(prefix=f"reffy-bench-sync-{kind}-") as tmp:
            results[kind] = _run(kind, path, Path(tmp))
    results["load_after"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"load average {results['load_before']:.2f} -> {results['load_after']:.2f} on {results['cores']} cores")
    for kind in ("sitemap", "crawl"):
        r = results[kind]
        f, s, t = r["first"], r["second"], r["third"]
        print(f"\n{kind}: {r['allowed_pages']} allowed pages, {r['disallowed_pages']} disallowed")
        print(
            f"  first sync   {f['seconds']:6.2f} s  {f['new']} new, {f['page_bodies']} page bodies, "
            f"{f['allowed_pages_requested_once']}/{r['allowed_pages']} allowed pages requested exactly once, "
            f"{f['disallowed_requests']} requests to disallowed pages, {f['gold_stories']} gold stories"
        )
        print(
            f"  second sync  {s['seconds']:6.2f} s  {s['unchanged']} unchanged, new/updated/removed "
            f"{s['new_updated_removed']}, {s['page_bodies']} page bodies, {s['page_requests']} page requests "
            f"({s['not_modified_304']} answered 304), rebuilt: {s['rebuilt']}"
        )
        print(
            f"  third sync   {t['seconds']:6.2f} s  {t['updated']} updated, {t['removed']} removed, {t['new']} new, "
            f"{t['page_bodies']} page bodies, {t['gold_stories']} gold stories"
        )


if __name__ == "__main__":
    main()
