"""HTTP fetching for web pages and feeds: one place for timeouts, size caps, retries and
the address guard.

Every network source goes through :class:`Fetcher`, so they all fail the same way: a
:class:`FetchError` carrying a Problem reason code and an actionable sentence, never a
raw httpx exception. Transient failures (network errors, 429, 5xx) are retried with
exponential backoff; a body is streamed and abandoned as soon as it exceeds the cap.

Address guard (unless ``allow_private_urls``): a URL from a list, a feed or a redirect
can point anywhere, so before every request -- the first URL and each redirect hop,
followed by hand, at most ``MAX_REDIRECTS`` -- its host is resolved and every address
checked; loopback, private, link-local, multicast, unspecified, reserved and other
non-public addresses are refused (:class:`BlockedURL`), in every spelling: ``127.1``,
``0x7f000001``, ``2130706433``, ``0177.0.0.1``, ``[::ffff:127.0.0.1]``, ``[::1]``,
``localhost``. The default client also checks the address it actually connects to, so a
host name that resolves differently the second time (DNS rebinding) is refused as well.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from ingest.sources.base import ExtractionError, decode_text
from reffy.models import utcnow
from reffy.wording import sentence

if TYPE_CHECKING:
    from reffy.config import Settings

MAX_REDIRECTS = 10
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_AFTER_CAP_S = 10.0
BACKOFF_MAX_S = 8.0
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)


class FetchError(ExtractionError):
    """A URL could not be fetched. ``reason`` is a Problem reason code."""


class NotFound(FetchError):
    """The server answered 404 or 410: the page is gone."""


class BlockedURL(FetchError):
    """The URL (or a redirect or link on the way) leads to a non-public address."""


Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, as the connection would see them."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


_NUMERIC_HOST = re.compile(r"[0-9a-fA-FxX.]+")


def literal_address(host: str) -> IPAddress | None:
    """The IP address a host spells, in any form a resolver accepts: dotted, shortened
    (``127.1``), hex (``0x7f000001``), decimal (``2130706433``), octal (``0177.0.0.1``),
    IPv6 with or without brackets or a zone; None for a host name."""
    text = host.strip().strip("[]").rstrip(".")
    text = text.split("%", 1)[0]  # an IPv6 zone (fe80::1%eth0)
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(text) and any(c.isdigit() for c in text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except (OSError, ValueError):
            return None
    return None


def non_public(address: IPAddress) -> str | None:
    """Why ``address`` is not a public internet address (None when it is). An IPv6
    address carrying an IPv4 one (mapped, 6to4, Teredo) is judged by that too."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour, address.teredo[1] if address.teredo else None]
        for inner in embedded:
            if inner is not None and (why := non_public(inner)):
                return why
    for test, why in (
        ("is_loopback", "a loopback address (this machine)"),
        ("is_unspecified", "the unspecified address"),
        ("is_link_local", "a link-local address (e.g. a cloud metadata service)"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private network address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(address, test):
            return why
    return None if address.is_global else "not a public internet address"


class AddressGuard:
    """Resolves a URL's host and refuses non-public addresses (see the module docstring)."""

    def __init__(self, resolver: Resolver | None = None) -> None:
        self.resolve = resolver or system_resolver

    def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The checked addresses of ``host``; raises BlockedURL, or _Transient when it does not resolve."""
        literal = literal_address(host)
        if literal is None:
            try:  # IDNA, as the connection does: full-width digits become ASCII digits
                ascii_host = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise FetchError("unsupported", f"the host name {host!r} is not valid; check the URL") from None
            literal = literal_address(ascii_host)
        if literal is not None:
            found = [literal]
        else:
            try:
                found = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self.resolve(ascii_host, port)]
            except (OSError, UnicodeError, ValueError) as exc:
                raise _Transient(
                    FetchError("fetch_failed", f"could not resolve {host} ({exc}); check the URL and your network")
                ) from None
            if not found:
                raise _Transient(FetchError("fetch_failed", f"{host} has no address; check the URL"))
        for address in found:
            if why := non_public(address):
                if literal is None:
                    spelled = f"{host} resolves to {address}"
                elif host.strip("[]").lower() == str(address):
                    spelled = str(address)
                else:
                    spelled = f"{host} is the address {address}"
                raise BlockedURL("blocked_url", f"{spelled}, {why}")
        return found

    def check(self, url: str, start: str | None = None) -> None:
        """Raise BlockedURL (with a sentence saying what to do) unless ``url`` is public.
        ``start``: the URL the user gave, when ``url`` is a redirect hop of it. The host is
        taken as httpx (which connects) and as urllib read it; both must be public."""
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError:
            raise FetchError("unsupported", f"{url} has an invalid port; check the URL") from None
        hosts = [parts.hostname or ""]
        with contextlib.suppress(httpx.InvalidURL, UnicodeError):  # httpx will refuse it too; urllib's is checked
            hosts.insert(0, httpx.URL(url).raw_host.decode("ascii"))
        if not any(hosts):
            raise FetchError("unsupported", f"{url} has no host; check the URL")
        try:
            for host in dict.fromkeys(h for h in hosts if h):
                self.addresses(host, port)
        except BlockedURL as exc:
            via = f"{start} redirects to {url}: " if start and start != url else f"{url}: "
            raise BlockedURL(
                "blocked_url",
                f"refused: {via}{sentence(exc.detail)} Reffy fetches only public addresses, so "
                "a link cannot reach services on this machine or network; if you trust this site, set "
                "REFFY_ALLOW_PRIVATE_URLS=true",
            ) from None


class _GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the guard accepts, and to exactly the address it checked
    (TLS still verifies the host name): a second, different DNS answer cannot slip through."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            address = self._guard.addresses(host, port)[0]
        except BlockedURL as exc:
            raise BlockedURL(
                "blocked_url",
                f"refused: {sentence(exc.detail)} Reffy fetches only public addresses; if you "
                "trust this site, set REFFY_ALLOW_PRIVATE_URLS=true",
            ) from None
        except _Transient as exc:
            raise httpcore.ConnectError(exc.error.detail) from None
        return super().connect_tcp(str(address), port, timeout, local_address, socket_options)


def _guarded_transport(guard: AddressGuard) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport()
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):  # httpx has no public hook for this
        pool._network_backend = _GuardedBackend(guard)
    return transport


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
    control the pauses between retries; ``resolver`` (host, port -> addresses) replaces DNS
    for the address guard. At most ``http_concurrency`` requests run at once across all
    threads using this fetcher. Redirects are followed here, hop by hop, each one checked.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        backoff_s: float = 0.5,
        resolver: Resolver | None = None,
    ) -> None:
        self.settings = settings
        self._guard = None if settings.allow_private_urls else AddressGuard(resolver)
        if client is None and transport is None and self._guard is not None:
            transport = _guarded_transport(self._guard)
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
            raise FetchError(
                "unsupported", f"{url} is not an http(s) URL; give a web address or ingest the file by path"
            )
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
        except Exception as exc:
            from ingest.sources.base import describe_failure

            reason, detail = describe_failure(exc, "the answer")
            return FetchError(reason if reason != "corrupt" else "fetch_failed", f"{url}: {detail}")

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return min(exc.retry_after, RETRY_AFTER_CAP_S)
        return min(self._backoff_s * 2 ** (state.attempt_number - 1), BACKOFF_MAX_S)

    def _attempt(self, url: str, validator: str | None) -> FetchResult:
        timeout = self.settings.http_timeout_s
        headers = {"User-Agent": self.settings.user_agent, **_conditional_headers(validator)}
        with self._slots:
            current = url
            for _hop in range(MAX_REDIRECTS + 1):
                if self._guard is not None:
                    self._guard.check(current, start=url)
                result = self._get(url, current, headers, timeout)
                if isinstance(result, FetchResult):
                    return result
                current = result  # a redirect: the next hop, checked before it is requested
            raise FetchError(
                "fetch_failed",
                f"{url} redirected more than {MAX_REDIRECTS} times; open it in a browser "
                "to see where it leads and give that address",
            )

    def _get(self, url: str, current: str, headers: dict[str, str], timeout: float) -> FetchResult | str:
        """One request: the result, or the URL a redirect points to."""
        try:
            with self._client.stream("GET", current, headers=headers, follow_redirects=False, timeout=timeout) as resp:
                location = resp.headers.get("location")
                if resp.status_code in _REDIRECT_STATUSES and location:
                    target = urljoin(str(resp.url), location.strip())
                    if not is_http_url(target):
                        raise FetchError(
                            "unsupported",
                            f"{url} redirects to {target}, which is not an http(s) address; it cannot be fetched",
                        )
                    return target
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
                FetchError(
                    "fetch_failed",
                    f"{url} did not answer within {timeout:g} s; retry later or raise REFFY_HTTP_TIMEOUT_S",
                )
            ) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise FetchError("unsupported", f"{current} cannot be fetched ({exc}); check the URL") from None
        except httpx.TransportError as exc:
            raise _Transient(
                FetchError(
                    "fetch_failed",
                    f"could not reach {current} ({type(exc).__name__}: {exc}); check the URL and your network",
                )
            ) from None
        except httpx.HTTPError as exc:
            raise FetchError(
                "fetch_failed", f"fetching {current} failed ({type(exc).__name__}: {exc}); check the URL"
            ) from None

    def _read_capped(self, url: str, resp: httpx.Response) -> bytes:
        cap_mb = self.settings.max_page_mb
        too_large = FetchError(
            "too_large",
            f"{url} is larger than {cap_mb:g} MB; raise REFFY_MAX_PAGE_MB or save the page and ingest the file",
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
        raise NotFound(
            "not_found",
            f"{url} answered HTTP {status} (not found); remove it from your list if the page was taken down",
        )
    if status == 429 or status >= 500:
        detail = f"{url} answered HTTP {status} {attempts} time(s); the site is failing or rate-limiting, retry later"
        error = FetchError("fetch_failed", detail)
        raise _Transient(error, _retry_after(resp.headers.get("retry-after")))
    if status in (401, 403):
        raise FetchError(
            "fetch_failed",
            f"{url} answered HTTP {status}: it needs a login or refuses automated access; save the page as "
            "HTML and ingest the file",
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


__all__ = [
    "AddressGuard",
    "BlockedURL",
    "FetchError",
    "FetchResult",
    "Fetcher",
    "NotFound",
    "is_http_url",
    "literal_address",
    "non_public",
    "system_resolver",
]
