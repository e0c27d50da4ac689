"""The SSRF guard in front of every network tool: may this URL be fetched, and where to connect.

``check_url`` parses a URL with httpx's own parser, the one that later sends
the request, so the host it judges is the host that gets used. IP literals are
read in every spelling that ``inet_aton`` or a browser accepts (``2130706433``,
``0x7f.1``, ``017700000001``, ``127.1``). An IPv6 address that embeds an IPv4
address (mapped, compatible, 6to4, Teredo, NAT64) is also judged by that IPv4
address. A name is resolved once. If any of its addresses is loopback, private,
link-local, shared, multicast, reserved, unspecified or a cloud metadata
endpoint, the URL is refused, unless the user listed the host or the address
in ``NetPolicy.allow_hosts``.

The caller must connect to ``CheckedURL.addresses`` and to nothing else.
Resolving the name a second time at connect time would let a hostile DNS
server answer a public address to the check and 127.0.0.1 to the connection
(DNS rebinding).
"""

import asyncio
import functools
import ipaddress
import math
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import httpx
import idna

from backends.errors import ToolArgumentError, ToolError
from tools.addresses import IPAddress, address_problem, parse_ip_literal

__all__ = [
    "CheckedURL",
    "NetPolicy",
    "Resolver",
    "URLRefused",
    "check_url",
    "system_resolve",
]

Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_URL_LENGTH = 2048
_TOOL = "fetch_url"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HINT = "add the host to fetch_url allow_hosts to permit it"
_LABEL = re.compile(r"[a-z0-9_-]{1,63}")

# Names that reach metadata services on some clouds without any DNS lookup.
_METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data.ec2.internal"}
)


class URLRefused(ToolArgumentError):
    """The guard refused a URL: its form, its scheme, or an address it leads to."""

    def __init__(self, message: str, *, url: str, address: str | None = None) -> None:
        super().__init__(message, tool=_TOOL)
        self.url = url
        self.address = address


@dataclass(frozen=True)
class NetPolicy:
    """What the network tools may reach, and how much they may read.

    Attributes:
        allow_hosts: Host names or IP literals the user explicitly permits even
            though they are private, loopback or otherwise non-public.
        max_bytes: Largest response body read; the rest is dropped.
        max_redirects: Redirects followed before giving up.
        timeout_s: Seconds one fetch may take in total, redirects included.
    """

    allow_hosts: frozenset[str] = frozenset()
    max_bytes: int = 2_000_000
    max_redirects: int = 5
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        # frozenset("localhost") is a set of letters: a classic slip.
        if not isinstance(self.allow_hosts, frozenset):
            raise ValueError(f"allow_hosts must be a frozenset, got {self.allow_hosts!r}")
        _allowed(self.allow_hosts)  # raises on an entry that is no host
        # bool is an int subclass: True bytes or redirects is a bug, not 1.
        for name, low, kinds in (("max_bytes", 1, int), ("max_redirects", 0, int)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, kinds) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        timeout = self.timeout_s
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ValueError(f"timeout_s must be a number, got {timeout!r}")
        if not 0 < timeout < math.inf:
            raise ValueError(f"timeout_s must be positive and finite, got {timeout!r}")


@dataclass(frozen=True)
class CheckedURL:
    """A URL the guard accepted, and the only addresses the request may go to.

    Attributes:
        url: The URL rebuilt from its checked parts, without fragment.
        scheme: ``http`` or ``https``.
        host: Lowercase ASCII (IDNA) host without trailing dot; IPv6 without brackets.
        port: The explicit port, or the scheme's default.
        target: Path and query to request, e.g. ``/a?b=1``.
        addresses: Checked IP addresses, in resolver order, without duplicates.
        literal: Whether the host was written as an IP address.
    """

    url: str
    scheme: str
    host: str
    port: int
    target: str
    addresses: tuple[str, ...]
    literal: bool

    @property
    def host_header(self) -> str:
        """Return the ``Host`` header value: host, bracketed if IPv6, and a non-default port."""
        return _authority(self.scheme, self.host, self.port)


def _authority(scheme: str, host: str, port: int) -> str:
    if ":" in host:
        host = "[" + host.replace("%", "%25") + "]"
    return host if port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"


async def system_resolve(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver, off the event loop, into IP address strings."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@functools.cache
def _allowed(entries: frozenset[str]) -> tuple[frozenset[str], frozenset[IPAddress]]:
    names: set[str] = set()
    addresses: set[IPAddress] = set()
    for entry in entries:
        host = _normalize_host(str(entry).strip().removeprefix("[").removesuffix("]"))
        try:
            literal = parse_ip_literal(host)
        except ValueError as exc:
            raise ValueError(f"allow_hosts entry {entry!r} is not a host: {exc}") from exc
        if literal is not None:
            addresses.add(literal)
        elif _is_host_name(host):
            names.add(host)
        else:
            raise ValueError(f"allow_hosts entry {entry!r} is not a host name or IP address")
    return frozenset(names), frozenset(addresses)


def _normalize_host(host: str) -> str:
    host = host.lower().removesuffix(".")
    if host.isascii():
        return host
    try:
        return idna.encode(host).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"{host!r} is not a valid international host name: {exc}") from exc


def _is_host_name(host: str) -> bool:
    return len(host) <= 253 and all(_LABEL.fullmatch(label) for label in host.split("."))


def _name_problem(host: str) -> str | None:
    if host in _METADATA_NAMES:
        return "a cloud metadata host"
    if host == "localhost" or host.endswith(".localhost"):
        return "a loopback name"
    return None


def _unique(items: Iterable[IPAddress]) -> tuple[IPAddress, ...]:
    return tuple(dict.fromkeys(items))


async def check_url(url: str, policy: NetPolicy, resolve: Resolver = system_resolve) -> CheckedURL:
    """Check that ``url`` may be fetched under ``policy`` and return where to connect.

    Raises:
        URLRefused: The URL is malformed, not http(s), carries credentials, or
            leads to a non-public address that ``policy.allow_hosts`` does not permit.
        ToolError: The host name could not be resolved (offline, or no such host).
    """
    parsed, host, port, literal = _parse(url)
    names, allowed_addresses = _allowed(policy.allow_hosts)
    host_allowed = host in names or literal in allowed_addresses
    addresses: tuple[IPAddress, ...]
    if literal is not None:
        host, addresses = str(literal), (literal,)
    else:
        addresses = await _resolve_name(url, host, port, resolve, host_allowed)
    for address in addresses:
        if host_allowed or address in allowed_addresses:
            continue
        problem = address_problem(address)
        if problem is not None:
            where = f"{address} is" if literal is not None else f"{host} resolves to {address},"
            raise _refuse(url, f"{where} {problem}; {_HINT}", address=str(address))
    target = parsed.raw_path.decode("ascii")
    return CheckedURL(
        url=f"{parsed.scheme}://{_authority(parsed.scheme, host, port)}{target}",
        scheme=parsed.scheme,
        host=host,
        port=port,
        target=target,
        addresses=tuple(str(a) for a in addresses),
        literal=literal is not None,
    )


def _refuse(url: str, reason: str, address: str | None = None) -> URLRefused:
    shown = url if len(url) <= 200 else url[:197] + "..."
    return URLRefused(f"refusing to fetch {shown}: {reason}", url=url, address=address)


def _parse(url: str) -> tuple[httpx.URL, str, int, IPAddress | None]:
    """Return the parsed URL, its normalized host, its port and the host's IP, if a literal."""
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(url, f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise _refuse(url, f"not a valid URL ({exc})") from exc
    if parsed.scheme not in _DEFAULT_PORTS:
        scheme = f"{parsed.scheme}:" if parsed.scheme else "a URL without a scheme"
        raise _refuse(url, f"only http:// and https:// URLs can be fetched, not {scheme}")
    if parsed.userinfo:
        raise _refuse(url, "URLs with a user name or password (user:pass@host) are not allowed")
    port = _DEFAULT_PORTS[parsed.scheme] if parsed.port is None else parsed.port
    if not 0 < port < 65536:
        raise _refuse(url, f"port {port} is out of range")
    try:
        host = _normalize_host(parsed.raw_host.decode("ascii"))
        literal = parse_ip_literal(host) if host else None
    except ValueError as exc:
        raise _refuse(url, f"the host is not a valid IP address or host name ({exc})") from exc
    if not host:
        raise _refuse(url, "the URL has no host")
    return parsed, host, port, literal


async def _resolve_name(
    url: str, host: str, port: int, resolve: Resolver, host_allowed: bool
) -> tuple[IPAddress, ...]:
    """Check a host name, then resolve it once; its addresses are judged by the caller."""
    if not _is_host_name(host):
        raise _refuse(url, f"{host!r} is not a valid host name")
    problem = None if host_allowed else _name_problem(host)
    if problem is not None:
        raise _refuse(url, f"{host} is {problem}; {_HINT}")
    return _unique(await _resolve(resolve, host, port))


async def _resolve(resolve: Resolver, host: str, port: int) -> list[IPAddress]:
    try:
        raw = await resolve(host, port)
    except OSError as exc:  # socket.gaierror included
        raise ToolError(f"could not reach {host}: {_dns_reason(exc)}", tool=_TOOL) from exc
    if not raw:
        raise ToolError(f"could not reach {host}: DNS returned no address", tool=_TOOL)
    try:
        return [ipaddress.ip_address(item) for item in raw]
    except ValueError as exc:
        raise ToolError(f"resolver returned a non-address for {host}: {exc}", tool=_TOOL) from exc


def _dns_reason(exc: OSError) -> str:
    no_such_host = {getattr(socket, n, None) for n in ("EAI_NONAME", "EAI_NODATA")} - {None}
    if isinstance(exc, socket.gaierror) and exc.errno in no_such_host:
        return "no such host (misspelled, or offline?)"
    return "DNS lookup failed (offline?)"
