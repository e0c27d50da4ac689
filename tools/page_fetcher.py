"""Fetch one page over HTTP behind the SSRF guard: pinned connections, checked redirects.

Every URL, the first and each redirect target, passes ``check_url`` before any
connection is made, and redirects are followed here, not by httpx, so no hop
escapes the check. The body is streamed and cut at ``NetPolicy.max_bytes``.

Connection pinning: given a host name, httpx would resolve it again at connect
time, and a hostile DNS server could then answer 127.0.0.1 although the check
saw a public address (DNS rebinding). So the request URL carries the checked
IP address instead of the name; the ``Host`` header carries the name, so
virtual hosting still works; for https the ``sni_hostname`` request extension
makes httpcore send the name as SNI and verify the certificate against the
name rather than the IP. Keep-alive is off because httpcore pools connections
by (scheme, IP, port): a TLS connection verified for one name must not be
reused for another name that happens to share the IP.
"""

import asyncio
import codecs
import errno
import re
import ssl
import weakref
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import cast

import httpx

from backends.errors import ToolError
from tools.netguard import CheckedURL, NetPolicy, Resolver, URLRefused, check_url

__all__ = ["Page", "PageFetcher", "shorten"]

# Errors here are the fetch_url tool's.
_TOOL = "fetch_url"
_HEADERS = {
    "User-Agent": "Mozilla/5.0 (compatible; llm-agent-router fetch_url)",
    "Accept": "text/html,application/xhtml+xml,application/json;q=0.9,text/*;q=0.8",
    # A compressed body could expand a thousandfold per chunk before the byte cap sees it.
    "Accept-Encoding": "identity",
}
_TEXT_TYPES = frozenset({"application/json", "application/xhtml+xml", "application/xml"})
_CONNECT_REASONS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ENETUNREACH: "network unreachable (offline?)",
    errno.EHOSTUNREACH: "host unreachable (offline?)",
    errno.ETIMEDOUT: "connection timed out",
}


@dataclass(frozen=True)
class Page:
    """A fetched page: its final URL, media type, decoded text, and whether it was cut."""

    url: str
    media_type: str
    text: str
    capped: bool


class PageFetcher:
    """Fetch pages under one policy and resolver, with a lazily built per-event-loop client."""

    def __init__(
        self, policy: NetPolicy, resolve: Resolver, transport: httpx.AsyncBaseTransport | None
    ) -> None:
        self.policy = policy
        self._resolve = resolve
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None

    async def get(self, url: str) -> Page:
        """Return the page at ``url``, following redirects, each target checked first.

        Raises:
            URLRefused: ``url``, or a redirect target, may not be fetched.
            ToolError: The host could not be resolved, reached or read, answered an
                error status or something other than text, or redirected too often.
        """
        client = self._client_for_loop()
        current, previous = url, None
        for _ in range(self.policy.max_redirects + 1):
            checked = await self._check(current, previous)
            response = await self._send(client, checked)
            try:
                if not response.is_redirect:
                    return await self._read(checked, response)
            finally:
                await response.aclose()
            previous, current = checked.url, _join(checked.url, response.headers["location"])
        raise ToolError(
            f"too many redirects: {shorten(url)} redirected more than "
            f"{self.policy.max_redirects} times",
            tool=_TOOL,
        )

    def _client_for_loop(self) -> httpx.AsyncClient:
        # An AsyncClient's connections belong to the loop that opened them, so
        # the one shared client is rebuilt only when the running loop changes.
        loop = asyncio.get_running_loop()
        if self._client is None or self._client.is_closed or self._loop_changed(loop):
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                # No proxies or .netrc from the environment: a proxy would
                # connect by name and undo the pinning.
                trust_env=False,
                timeout=httpx.Timeout(self.policy.timeout_s),
                limits=httpx.Limits(max_keepalive_connections=0),
                # A jar that accepts no cookie, so one call's cookies never travel
                # with a later request. Passed bare: httpx.Cookies(...) would copy
                # it into a fresh jar and drop the policy.
                cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
                headers=_HEADERS,
                transport=self._transport,
            )
            self._loop = weakref.ref(loop)
        return self._client

    def _loop_changed(self, loop: asyncio.AbstractEventLoop) -> bool:
        return self._loop is None or self._loop() is not loop

    async def _check(self, url: str, previous: str | None) -> CheckedURL:
        try:
            return await check_url(url, self.policy, self._resolve)
        except URLRefused as exc:
            if previous is None:
                raise
            raise URLRefused(
                f"{exc} (redirected from {shorten(previous)})", url=exc.url, address=exc.address
            ) from exc

    async def _send(self, client: httpx.AsyncClient, checked: CheckedURL) -> httpx.Response:
        tls_name = checked.scheme == "https" and not checked.literal
        extensions = {"sni_hostname": checked.host} if tls_name else {}
        failure: httpx.ConnectError | None = None
        for address in checked.addresses:
            pinned = httpx.URL(
                scheme=checked.scheme,
                host=address,
                port=checked.port,
                raw_path=checked.target.encode("ascii"),
            )
            request = client.build_request(
                "GET", pinned, headers={"Host": checked.host_header}, extensions=extensions
            )
            try:
                return await client.send(request, stream=True)
            except httpx.ConnectError as exc:
                failure = exc  # try the host's next address
            except httpx.TimeoutException as exc:
                raise ToolError(f"timed out connecting to {checked.host}", tool=_TOOL) from exc
            except httpx.HTTPError as exc:
                message = f"could not fetch {shorten(checked.url)}: {exc}"
                raise ToolError(message, tool=_TOOL) from exc
        raise ToolError(
            f"could not reach {checked.host}: {_connect_reason(failure)}", tool=_TOOL
        ) from failure

    async def _read(self, checked: CheckedURL, response: httpx.Response) -> Page:
        url = shorten(checked.url)
        if not response.is_success:
            raise ToolError(
                f"{url} answered HTTP {response.status_code} {response.reason_phrase}", tool=_TOOL
            )
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not _is_text(media_type):
            raise ToolError(
                f"{url} is {media_type or 'of unknown type'}, not text: fetch_url reads only "
                "HTML, text, JSON and XML",
                tool=_TOOL,
            )
        body, capped = bytearray(), False
        try:
            # aiter_bytes is an async generator: close it now, not whenever GC runs.
            stream = cast(AsyncGenerator[bytes, None], response.aiter_bytes())
            async with aclosing(stream) as chunks:
                async for chunk in chunks:
                    room = self.policy.max_bytes - len(body)
                    body += chunk[:room]
                    if len(chunk) > room:
                        capped = True
                        break
        except httpx.TimeoutException as exc:
            raise ToolError(f"timed out reading {url}", tool=_TOOL) from exc
        except httpx.HTTPError as exc:
            raise ToolError(f"could not read {url}: {exc}", tool=_TOOL) from exc
        text = bytes(body).decode(_charset(response), errors="replace")
        return Page(url=checked.url, media_type=media_type, text=text, capped=capped)


def _is_text(media_type: str) -> bool:
    return (
        media_type.startswith("text/")
        or media_type in _TEXT_TYPES
        or re.fullmatch(r"application/[\w.+-]+\+(json|xml)", media_type) is not None
    )


def _charset(response: httpx.Response) -> str:
    name = response.charset_encoding or "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


def _join(base: str, location: str) -> str:
    try:
        return str(httpx.URL(base).join(location))
    except httpx.InvalidURL as exc:
        raise ToolError(
            f"{shorten(base)} redirected to a bad URL {shorten(location)!r}", tool=_TOOL
        ) from exc


def _connect_reason(exc: BaseException | None) -> str:
    while exc is not None:
        if isinstance(exc, ssl.SSLError):
            return f"TLS handshake failed ({exc.reason or exc})"
        if isinstance(exc, OSError) and exc.errno in _CONNECT_REASONS:
            return _CONNECT_REASONS[exc.errno]
        exc = exc.__cause__ or exc.__context__
    return "connection failed (offline?)"


def shorten(text: str, limit: int = 200) -> str:
    """Return ``text``, cut to ``limit`` characters ending in ``...`` when longer."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
