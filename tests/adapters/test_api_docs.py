"""The API's own docs (Swagger UI at /docs, ReDoc at /redoc) work with no network: a real
uvicorn server on 127.0.0.1 serves the pages, and every script, stylesheet and icon they load
comes from that same server, never from a CDN."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
import uvicorn

from reffy.api import create_app
from reffy.service import ReffyService


class _Assets(HTMLParser):
    """The URLs a page loads: <script src>, <link href> (stylesheets, icons), <img src>."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "img") and found.get("src"):
            self.urls.append((tag, found["src"] or ""))
        if tag == "link" and found.get("href"):
            self.urls.append((tag, found["href"] or ""))


@pytest.fixture
def server(settings) -> Iterator[str]:
    """The API over an empty library, served by uvicorn on a free local port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    service = ReffyService(settings)
    srv = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)
    service.close()


@pytest.mark.parametrize(("page", "script"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_api_docs_load_every_asset_from_the_same_server(server: str, page: str, script: str) -> None:
    with httpx.Client(timeout=10) as http:
        r = http.get(server + page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        parser = _Assets()
        parser.feed(r.text)
        assert any(url.endswith(script) for _, url in parser.urls), parser.urls
        for tag, url in parser.urls:
            full = urljoin(server + page, url)
            assert urlsplit(full).netloc == urlsplit(server).netloc, f"{page} loads {url} from another host"
            asset = http.get(full)
            assert asset.status_code == 200 and len(asset.content) > 100, (url, asset.status_code)
            if tag == "script":
                assert "javascript" in asset.headers["content-type"]
        assert "cdn" not in r.text.lower() and "fonts.googleapis" not in r.text
        assert http.get(server + "/openapi.json").json()["info"]["title"] == "Reffy API"
