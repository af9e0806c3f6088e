"""HTTP fetching for web pages and feeds: one place for timeouts, size caps and retries.

Every network source goes through :class:`Fetcher`, so they all fail the same way: a
:class:`FetchError` carrying a Problem reason code and an actionable sentence, never a
raw httpx exception. Transient failures (network errors, 429, 5xx) are retried with
exponential backoff; a body is streamed and abandoned as soon as it exceeds the cap.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from ingest.sources.base import ExtractionError, decode_text
from reffy.models import utcnow

if TYPE_CHECKING:
    from reffy.config import Settings

RETRY_AFTER_CAP_S = 10.0
BACKOFF_MAX_S = 8.0
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)


class FetchError(ExtractionError):
    """A URL could not be fetched. ``reason`` is a Problem reason code."""


class NotFound(FetchError):
    """The server answered 404 or 410: the page is gone."""


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A fetched body. ``content_type`` is the bare media type (``text/html``)."""

    url: str
    final_url: str
    status: int
    content_type: str
    content: bytes
    encoding: str | None
    validator: str | None = None  # "etag:..." or "last-modified:...", for conditional GETs

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def text(self) -> str:
        """The body as text: declared charset, then ``<meta charset>``, then detection."""
        match = _META_CHARSET.search(self.content[:4096])
        for enc in (self.encoding, match.group(1).decode("ascii") if match else None):
            if enc:
                try:
                    return self.content.decode(enc, errors="replace")
                except LookupError:
                    continue
        return decode_text(self.content)[0]


class _Transient(Exception):
    """An attempt failed in a way worth retrying; ``error`` is raised once retries run out."""

    def __init__(self, error: FetchError, retry_after: float | None = None) -> None:
        super().__init__(error.detail)
        self.error = error
        self.retry_after = retry_after


def is_http_url(url: str) -> bool:
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


class Fetcher:
    """GET with redirects, a per-attempt deadline, a size cap and retries.

    ``client`` (or ``transport``) can be injected for tests; ``sleep`` and ``backoff_s``
    control the pauses between retries. At most ``http_concurrency`` requests run at
    once across all threads using this fetcher.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        backoff_s: float = 0.5,
    ) -> None:
        self.settings = settings
        self._owns_client = client is None
        self._client = client or httpx.Client(transport=transport)
        self._sleep = sleep
        self._backoff_s = backoff_s
        self._slots = threading.BoundedSemaphore(settings.http_concurrency)
        self._max_bytes = int(settings.max_page_mb * 1024 * 1024)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str, *, validator: str | None = None) -> FetchResult:
        """Fetch ``url``; raises FetchError (NotFound for 404/410). 304 only with a validator."""
        if not is_http_url(url):
            raise FetchError("unsupported", f"{url} is not an http(s) URL; give a web address or ingest the file by path")
        attempts = self.settings.http_retries + 1
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, url, validator)
        except _Transient as exc:
            raise exc.error from None

    def fetch_many(
        self, urls: Iterable[str], *, validators: Mapping[str, str] | None = None
    ) -> Iterator[tuple[str, FetchResult | FetchError]]:
        """Fetch concurrently, yielding ``(url, result-or-error)`` in input order."""
        validators = validators or {}
        window = 2 * self.settings.http_concurrency
        with ThreadPoolExecutor(max_workers=self.settings.http_concurrency) as pool:
            pending: deque[tuple[str, Future[FetchResult | FetchError]]] = deque()
            for url in urls:
                pending.append((url, pool.submit(self._fetch_or_error, url, validators.get(url))))
                if len(pending) >= window:
                    head, future = pending.popleft()
                    yield head, future.result()
            while pending:
                head, future = pending.popleft()
                yield head, future.result()

    def _fetch_or_error(self, url: str, validator: str | None) -> FetchResult | FetchError:
        try:
            return self.fetch(url, validator=validator)
        except FetchError as exc:
            return exc

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return min(exc.retry_after, RETRY_AFTER_CAP_S)
        return min(self._backoff_s * 2 ** (state.attempt_number - 1), BACKOFF_MAX_S)

    def _attempt(self, url: str, validator: str | None) -> FetchResult:
        timeout = self.settings.http_timeout_s
        headers = {"User-Agent": self.settings.user_agent, **_conditional_headers(validator)}
        with self._slots:
            try:
                with self._client.stream(
                    "GET", url, headers=headers, follow_redirects=True, timeout=timeout
                ) as resp:
                    _check_status(url, resp, self.settings.http_retries + 1)
                    content = b"" if resp.status_code == 304 else self._read_capped(url, resp)
                    return FetchResult(
                        url=url,
                        final_url=str(resp.url),
                        status=resp.status_code,
                        content_type=resp.headers.get("content-type", "").split(";")[0].strip().lower(),
                        content=content,
                        encoding=resp.charset_encoding,
                        validator=_validator_of(resp),
                    )
            except httpx.TimeoutException:
                raise _Transient(
                    FetchError("fetch_failed", f"{url} did not answer within {timeout:g} s; retry later or raise REFFY_HTTP_TIMEOUT_S")
                ) from None
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                raise FetchError("unsupported", f"{url} cannot be fetched ({exc}); check the URL") from None
            except httpx.TransportError as exc:
                raise _Transient(
                    FetchError("fetch_failed", f"could not reach {url} ({type(exc).__name__}: {exc}); check the URL and your network")
                ) from None
            except httpx.HTTPError as exc:
                raise FetchError("fetch_failed", f"fetching {url} failed ({type(exc).__name__}: {exc}); check the URL") from None

    def _read_capped(self, url: str, resp: httpx.Response) -> bytes:
        cap_mb = self.settings.max_page_mb
        too_large = FetchError(
            "too_large", f"{url} is larger than {cap_mb:g} MB; raise REFFY_MAX_PAGE_MB or save the page and ingest the file"
        )
        length = resp.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_bytes:
            raise too_large
        deadline = time.monotonic() + self.settings.http_timeout_s
        body = bytearray()
        for chunk in resp.iter_bytes():
            body += chunk
            if len(body) > self._max_bytes:
                raise too_large
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("body took too long", request=resp.request)
        return bytes(body)


def _check_status(url: str, resp: httpx.Response, attempts: int) -> None:
    status = resp.status_code
    if 200 <= status < 300 or status == 304:
        return
    if status in (404, 410):
        raise NotFound("not_found", f"{url} answered HTTP {status} (not found); remove it from your list if the page was taken down")
    if status == 429 or status >= 500:
        detail = f"{url} answered HTTP {status} {attempts} time(s); the site is failing or rate-limiting, retry later"
        error = FetchError("fetch_failed", detail)
        raise _Transient(error, _retry_after(resp.headers.get("retry-after")))
    if status in (401, 403):
        raise FetchError(
            "fetch_failed",
            f"{url} answered HTTP {status}: it needs a login or refuses automated access; save the page as HTML and ingest the file",
        )
    raise FetchError("fetch_failed", f"{url} answered HTTP {status}; check the URL")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None


def _validator_of(resp: httpx.Response) -> str | None:
    if etag := resp.headers.get("etag"):
        return f"etag:{etag}"
    if modified := resp.headers.get("last-modified"):
        return f"last-modified:{modified}"
    return None


def _conditional_headers(validator: str | None) -> dict[str, str]:
    if not validator:
        return {}
    kind, _, value = validator.partition(":")
    return {"etag": {"If-None-Match": value}, "last-modified": {"If-Modified-Since": value}}.get(kind, {})


__all__ = ["FetchError", "FetchResult", "Fetcher", "NotFound", "is_http_url"]
