"""A real HTTP server on 127.0.0.1 for source tests (no internet, no mocks of httpx).

Each test declares routes: a path maps to one :class:`Reply` or a list of them (consumed per
request, the last one repeating). The server counts hits per path and records how many
requests were in flight at once, so tests can check retries and bounded concurrency.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from ingest.sources.base import ReadContext, Source
from ingest.sources.http import Fetcher
from reffy.config import Settings
from reffy.models import SourceItem


@dataclass
class Reply:
    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    send_length: bool = True  # False: no Content-Length, body ends when the connection closes


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """Clients hanging up early is what the timeout and size-cap tests do: not an error."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, headers) in arrival order
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self._httpd.app = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def route(self, path: str, *replies: Reply) -> str:
        """Serve ``replies`` at ``path`` (in turn, the last repeating); returns the full URL."""
        self.routes[path] = list(replies)
        return self.url(path)

    def route_as(self, url: str, *replies: Reply) -> str:
        """Serve ``replies`` for an absolute ``url`` on any host: for clients that use this
        server as their HTTP proxy (see :func:`proxy_fetcher`), which then stands in for
        that host. Returns ``url``."""
        self.routes[url] = list(replies)
        return url

    def url(self, path: str) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next_reply(self, path: str, headers: dict[str, str]) -> Reply:
        with self._lock:
            self.hits[path] += 1
            self.requests.append((path, headers))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            replies = self.routes.get(path)
            if not replies:
                return Reply("no route", status=404, content_type="text/plain")
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        app: LocalServer = self.server.app  # type: ignore[attr-defined]
        reply = app._next_reply(self.path, {k.lower(): v for k, v in self.headers.items()})
        time.sleep(reply.delay)
        app._done()  # counted while "working", before the client can have read the answer
        body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            if reply.send_length:
                self.send_header("Content-Length", str(len(body)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (timeout and size-cap tests)

    def log_message(self, format: str, *args: object) -> None:
        pass


def make_fetcher(settings: Settings, sleeps: list[float] | None = None) -> Fetcher:
    """A Fetcher that ignores proxy variables and records (instead of doing) backoff sleeps."""
    record = sleeps.append if sleeps is not None else (lambda _s: None)
    return Fetcher(settings, client=httpx.Client(trust_env=False), sleep=record)


def proxy_fetcher(settings: Settings, server: LocalServer, dns: dict[str, str]) -> Fetcher:
    """A Fetcher whose requests all go to ``server`` as an HTTP proxy, and whose address
    guard resolves host names with ``dns`` (host -> address) instead of the network: so
    "public" hosts can be played by the local server while the guard stays on."""

    def resolve(host: str, port: int) -> list[str]:
        if host not in dns:
            raise OSError(f"unknown host {host} (test DNS)")
        return [dns[host]]

    client = httpx.Client(trust_env=False, proxy=server.url(""))
    return Fetcher(settings, client=client, sleep=lambda _s: None, resolver=resolve)


def read_all(source: Source, settings: Settings, fingerprints: dict[str, str] | None = None) -> list[SourceItem]:
    return list(source.read(ReadContext(settings, fingerprints or {})))


@contextmanager
def serve() -> Iterator[LocalServer]:
    server = LocalServer().start()
    try:
        yield server
    finally:
        server.stop()
