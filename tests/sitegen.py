"""A generated vendor website served on 127.0.0.1, for sync tests and ``eval/bench_sync.py``.

About a hundred customer-story pages under ``/customers/``, each a different story (seeded
random sentences from varied pools, so no two are near-duplicates), published through a
sitemap index that names two gzipped sitemaps: the first gives every page a ``lastmod``, the
second gives none (those pages are kept current by conditional requests). Also: a robots.txt
that disallows ``/customers/internal/`` (listed in the sitemap all the same, as real sites do),
an index page linking every story (for crawls), a page that redirects, a slow page, and
methods to change a page or take one down between syncs.

Pages answer with an ``ETag`` and ``Last-Modified`` and honour ``If-None-Match`` /
``If-Modified-Since`` with a bodiless 304. The server counts requests and page bodies per path,
so a test can say "fetched once", "never fetched" and "no body transferred".
"""

from __future__ import annotations

import gzip
import hashlib
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMPANIES = [
    "Nordvik",
    "Aldercrest",
    "Brightwater",
    "Calloway",
    "Dunmore",
    "Elmstead",
    "Fairhaven",
    "Glenrock",
    "Hollis",
    "Ironbridge",
    "Juniper",
    "Kestrel",
    "Larkspur",
    "Marlow",
    "Northgate",
    "Oakhurst",
    "Pembroke",
    "Quarry",
    "Redfern",
    "Sable",
]
KINDS = [
    ("Bank", "bank", "finance"),
    ("Insurance", "insurer", "insurance"),
    ("Health", "hospital group", "healthcare"),
    ("Retail", "retailer", "retail"),
    ("Telecom", "telecoms operator", "telecommunications"),
]
COUNTRIES = ["Denmark", "Germany", "France", "Spain", "Italy", "Sweden", "Norway", "Ireland", "Austria", "Poland"]
CHALLENGES = [
    "Customers waited {a} minutes on average before an agent picked up, and complaints about slow answers doubled.",
    "Its claims team re-keyed every form by hand, so a simple claim took {a} days to settle.",
    "Month-end reporting took {a} analysts a full week, and the numbers were often out of date when they landed.",
    "Store managers had no view of stock across the region, and {a}% of online orders were cancelled for lack of it.",
    "New staff needed {a} weeks of shadowing before they could work alone on the busiest queues.",
    "Billing disputes piled up: {a} thousand a quarter, each one opened and closed by hand.",
]
SOLUTIONS = [
    "The team rolled out Quillon Assist to {b} agents in three waves, starting with the cards queue.",
    "Quillon Flow now reads each incoming document, fills the case and routes it to the right desk.",
    "With Quillon Insight the finance team builds its reports from one governed model of the data.",
    "Quillon Stock joins the tills, the warehouses and the web shop into one live picture of the shelves.",
    "Guided answers from Quillon Assist walk every new colleague through the approved wording, step by step.",
    "Quillon Resolve sorts disputes as they arrive, settles the simple ones and hands the rest to a specialist.",
]
OUTCOMES = [
    "Average handling time fell by {c}% within six months, from {d} to {e} minutes per call.",
    "Claims are now settled in {e} days instead of {d}, and customer satisfaction rose by {c} points.",
    "Reports are ready {c}% sooner, and the finance team saves {d} hours every month.",
    "Cancelled orders dropped by {c}%, worth {d} million euros of sales a year.",
    "Time to competence came down from {d} to {e} weeks, and first-year attrition fell by {c}%.",
    "Disputes are closed {c}% faster, and {d} thousand fewer reach a person each quarter.",
]
WHY = [
    "It chose Quillon over Zentrix after a side-by-side pilot on real {w} data.",
    "The deciding factor was hosting in an EU data centre with the audit trail its regulator expects.",
    "Quillon was the only bidder that could show results on the {w} team's own cases within a month.",
    "Its architects liked that Quillon fits the systems they already run, with no rip and replace.",
]
QUOTES = [
    "\u201cWe absorbed a {c}% rise in volume without hiring,\u201d said {p}, head of operations.",
    "\u201cThe team finally works on the hard cases instead of the paperwork,\u201d said {p}.",
    "\u201cIt paid for itself inside the first year,\u201d said {p}, the chief financial officer.",
    "\u201cOur people trust the answers because they can see where each one comes from,\u201d said {p}.",
]
PEOPLE = ["Maria Jensen", "Jonas Weber", "Claire Martin", "Lucia Romero", "Erik Lund", "Aoife Byrne", "Piotr Nowak"]
FILLER = [
    "The project began with a workshop of {b} people from operations, IT and compliance.",
    "A steering group met every fortnight to review the figures and decide the next wave.",
    "Training took two afternoons per team, run by the customer's own champions.",
    "The rollout covered {b} sites before the end of the financial year.",
    "Every change was measured against the same quarter of the previous year.",
    "Security review and data protection sign-off were completed in {a} weeks.",
    "Next, the {w} team plans to extend the programme to its partners.",
    "Results were audited by the internal controls team before publication.",
]


@dataclass
class Page:
    path: str
    title: str
    body: str
    lastmod: str | None
    listed_in: int  # 1: the sitemap with lastmod, 2: the one without
    delay: float = 0.0
    version: int = 1

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body.encode()).hexdigest()[:16] + '"'


def story(n: int, version: int = 1) -> tuple[str, str]:
    """(title, article HTML) of story ``n``; another ``version`` changes its outcome figures."""
    rng = random.Random(n * 7919 + version)
    company = f"{COMPANIES[n % len(COMPANIES)]} {KINDS[n % len(KINDS)][0]} {n:03d}"
    kind = KINDS[n % len(KINDS)]
    country = COUNTRIES[(n // 3) % len(COUNTRIES)]
    nums = {
        "a": rng.randint(3, 40),
        "b": rng.randint(20, 900),
        "c": rng.randint(12, 70),
        "d": rng.randint(10, 90),
        "e": rng.randint(2, 9),
        "p": rng.choice(PEOPLE),
        "w": kind[2],
    }
    title = f"How {company} cut costs by {nums['c']}% with Quillon"
    paragraphs = [
        f"{company} is a {kind[1]} headquartered in {country}, serving around {nums['b']} thousand customers.",
        rng.choice(CHALLENGES).format(**nums),
        *[rng.choice(FILLER).format(**nums) for _ in range(2)],
        rng.choice(SOLUTIONS).format(**nums),
        rng.choice(OUTCOMES).format(**nums),
        rng.choice(WHY).format(**nums),
        rng.choice(QUOTES).format(**nums),
        rng.choice(FILLER).format(**nums),
        f"{company} and Quillon published this story together in {2020 + n % 5}; reference {n:03d}-{version}.",
    ]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    html = (
        f"<!doctype html><html><head><title>{title} | Quillon</title></head><body>"
        '<nav><a href="/">Home</a> <a href="/customers/">Customers</a> <a href="/pricing">Pricing</a></nav>'
        f"<article><h1>{title}</h1>{body}</article>"
        "<footer><p>Copyright Quillon. All rights reserved.</p></footer></body></html>"
    )
    return title, html


STORIES = 94  # + the slow page, the redirect and 4 disallowed ones: 100 pages listed, plus the index page


class Site:
    """The site's content and counters; :class:`SiteServer` serves it."""

    DISALLOWED = 4

    def __init__(self, stories: int = STORIES, *, delay: float = 0.0) -> None:
        """``stories`` story pages (besides the slow, redirected and disallowed ones); ``delay``
        seconds before every page answers (the kill test needs a sync that takes a while)."""
        self.lock = threading.Lock()
        self.pages: dict[str, Page] = {}
        self.redirects = {"/customers/acme-old": "/customers/acme-new"}
        self.hits: Counter[str] = Counter()
        self.bodies: Counter[str] = Counter()  # page bodies sent (200 with content)
        self.not_modified: Counter[str] = Counter()
        half = (stories + 1) // 2
        for n in range(1, stories + 1):
            title, html = story(n)
            self.pages[f"/customers/story-{n:03d}"] = Page(
                f"/customers/story-{n:03d}", title, html, f"2026-0{1 + n % 9}-1{n % 10}", 1 if n <= half else 2, delay
            )
        title, html = story(501)
        self.pages["/customers/slow"] = Page("/customers/slow", title, html, "2026-05-01", 1, delay=1.0)
        title, html = story(502)
        self.pages["/customers/acme-new"] = Page("/customers/acme-new", title, html, "2026-05-02", 0)
        for n in range(1, self.DISALLOWED + 1):
            title, html = story(900 + n)
            path = f"/customers/internal/deal-{n}"
            self.pages[path] = Page(path, title, html, "2026-05-03", 2)

    # -- what the tests see -------------------------------------------------------------
    @property
    def story_paths(self) -> list[str]:
        """Paths of every page the sitemaps list (redirect included), disallowed ones too."""
        listed = [p for p, page in self.pages.items() if page.listed_in]
        return sorted([*listed, *self.redirects])

    @property
    def allowed_paths(self) -> list[str]:
        return [p for p in self.story_paths if not p.startswith("/customers/internal/")]

    @property
    def disallowed_paths(self) -> list[str]:
        return [p for p in self.story_paths if p.startswith("/customers/internal/")]

    def page_bodies(self) -> int:
        """Page bodies sent so far (robots.txt, sitemaps and the index page not counted)."""
        with self.lock:
            return sum(n for p, n in self.bodies.items() if p.startswith("/customers/") and p != "/customers/")

    def reset_counts(self) -> None:
        with self.lock:
            self.hits.clear()
            self.bodies.clear()
            self.not_modified.clear()

    def change(self, path: str) -> None:
        """New outcome figures on the page, and a new lastmod in its sitemap."""
        with self.lock:
            page = self.pages[path]
            n = int(path.rsplit("-", 1)[-1]) if path[-1].isdigit() else 777
            page.version += 1
            page.title, page.body = story(n, page.version)
            page.lastmod = f"2026-12-{page.version:02d}"

    def take_down(self, path: str) -> None:
        """The page disappears: off the sitemap, and 404."""
        with self.lock:
            del self.pages[path]

    # -- what the server sends ----------------------------------------------------------
    def robots(self) -> str:
        return "User-agent: *\nDisallow: /customers/internal/\n\nSitemap: /sitemap_index.xml\n"

    def sitemap_index(self, base: str) -> str:
        entries = "".join(f"<sitemap><loc>{base}/sitemaps/stories-{i}.xml.gz</loc></sitemap>" for i in (1, 2))
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'
        )

    def sitemap(self, number: int, base: str) -> bytes:
        rows = []
        for path, page in sorted(self.pages.items()):
            if page.listed_in != number:
                continue
            lastmod = f"<lastmod>{page.lastmod}</lastmod>" if number == 1 and page.lastmod else ""
            rows.append(f"<url><loc>{base}{path}</loc>{lastmod}</url>")
        if number == 2:
            rows.extend(f"<url><loc>{base}{old}</loc></url>" for old in self.redirects)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{"".join(rows)}</urlset>'
        )
        return gzip.compress(xml.encode(), mtime=0)

    def index_page(self) -> str:
        links = "".join(
            f'<li><a href="{p}">{page.title}</a></li>'
            for p, page in sorted(self.pages.items())
            if page.listed_in or p in self.redirects.values()
        )
        links += "".join(f'<li><a href="{old}">Acme (old link)</a></li>' for old in self.redirects)
        return f"<!doctype html><html><head><title>Customers</title></head><body><ul>{links}</ul></body></html>"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        server: SiteServer = self.server.site_server  # type: ignore[attr-defined]
        site = server.site
        path = self.path.split("?", 1)[0]
        with site.lock:
            site.hits[path] += 1
            page = site.pages.get(path)
            redirect = site.redirects.get(path)
        base = server.url("")
        if path == "/robots.txt":
            return self._send(200, site.robots().replace("Sitemap: /", f"Sitemap: {base}/"), "text/plain")
        if path == "/sitemap_index.xml":
            return self._send(200, site.sitemap_index(base), "application/xml")
        if path.startswith("/sitemaps/stories-"):
            with site.lock:
                data = site.sitemap(int(path.split("-")[1].split(".")[0]), base)
            return self._send(200, data, "application/gzip")
        if path == "/customers/":
            with site.lock:
                html = site.index_page()
            return self._send(200, html, "text/html; charset=utf-8")
        if redirect:
            return self._send(301, "", "text/plain", {"Location": redirect})
        if page is None:
            return self._send(404, "not found", "text/plain")
        if page.delay:
            time.sleep(page.delay)
        modified = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(1_700_000_000 + page.version * 86400))
        headers = {"ETag": page.etag, "Last-Modified": modified}
        if self.headers.get("If-None-Match") == page.etag:
            with site.lock:
                site.not_modified[path] += 1
            return self._send(304, b"", None, headers)
        with site.lock:
            site.bodies[path] += 1
        return self._send(200, page.body, "text/html; charset=utf-8", headers)

    def _send(self, status: int, body: str | bytes, content_type: str | None, headers: dict | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        try:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            if status != 304:
                self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if status != 304:
                self.wfile.write(data)
        except OSError:
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


class SiteServer:
    def __init__(self, site: Site | None = None) -> None:
        self.site = site or Site()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.site_server = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def serve_site(site: Site | None = None) -> Iterator[SiteServer]:
    server = SiteServer(site).start()
    try:
        yield server
    finally:
        server.stop()
