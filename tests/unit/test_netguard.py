"""The SSRF guard, judged with a stubbed resolver: nothing here opens a connection."""

import asyncio
import ipaddress
import socket
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.errors import ToolArgumentError, ToolError
from tools.addresses import address_problem, parse_ip_literal
from tools.netguard import CheckedURL, NetPolicy, URLRefused, check_url, system_resolve

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"

# What the stub DNS answers; a name missing here fails the test if it is looked up.
ZONE: dict[str, list[str]] = {
    "example.com": [PUBLIC_V4, PUBLIC_V6],
    "xn--bcher-kva.example": [PUBLIC_V4],
    "localhost": ["127.0.0.1", "::1"],
    "internal.test": ["10.0.0.5"],
    "router.test": ["192.168.1.1"],
    "corp.test": ["172.20.3.4"],
    "cgnat.test": ["100.64.0.7"],
    "linklocal.test": ["169.254.10.10"],
    "metadata-alias.test": ["169.254.169.254"],
    "ula.test": ["fd12:3456::1"],
    "v6metadata.test": ["fd00:ec2::254"],
    "v6loop.test": ["::1"],
    "mapped.test": ["::ffff:10.1.2.3"],
    "zero.test": ["0.0.0.0"],
    "mixed.test": [PUBLIC_V4, "10.0.0.5"],
    "mixed-late.test": [PUBLIC_V4, PUBLIC_V6, "::1"],
}


class StubResolver:
    def __init__(self, zone: dict[str, list[str]] = ZONE) -> None:
        self.zone = zone
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in self.zone:
            raise AssertionError(f"unexpected lookup of {host!r}")
        return list(self.zone[host])


async def must_not_resolve(host: str, port: int) -> list[str]:
    raise AssertionError(f"an IP literal was looked up: {host!r}")


# (url, words the refusal must contain)
REFUSED_LITERALS = [
    ("http://127.0.0.1/", ["127.0.0.1", "loopback", "allow_hosts"]),
    ("http://127.0.0.1./", ["127.0.0.1", "loopback"]),
    ("http://2130706433/", ["127.0.0.1", "loopback"]),
    ("http://0x7f000001/", ["127.0.0.1", "loopback"]),
    ("http://0X7F000001/", ["127.0.0.1", "loopback"]),
    ("http://0x7f.1/", ["127.0.0.1", "loopback"]),
    ("http://017700000001/", ["127.0.0.1", "loopback"]),
    ("http://0x7f.0x0.0x0.0x1/", ["127.0.0.1", "loopback"]),
    ("http://127.1/", ["127.0.0.1", "loopback"]),
    ("http://127.0.1/", ["127.0.0.1", "loopback"]),
    ("http://127.0.0.2:8080/x", ["127.0.0.2", "loopback"]),
    (
        "http://10.0.0.5/",
        ["10.0.0.5 is a private address", "add the host to fetch_url allow_hosts"],
    ),
    ("http://172.16.0.1/", ["172.16.0.1", "private"]),
    ("http://172.31.255.255/", ["172.31.255.255", "private"]),
    ("http://192.168.1.1/", ["192.168.1.1", "private"]),
    ("http://0xc0a80101/", ["192.168.1.1", "private"]),
    ("http://100.64.0.1/", ["100.64.0.1", "shared"]),
    ("http://169.254.1.1/", ["169.254.1.1", "link-local"]),
    ("http://169.254.169.254/latest/meta-data/", ["169.254.169.254", "metadata"]),
    ("http://2852039166/", ["169.254.169.254", "metadata"]),
    ("http://0xa9fea9fe/", ["169.254.169.254", "metadata"]),
    ("http://0251.0376.0124776/", ["169.254.169.254", "metadata"]),
    ("http://169.254.43518/", ["169.254.169.254", "metadata"]),
    ("http://0.0.0.0/", ["0.0.0.0", "unspecified"]),
    ("http://0/", ["0.0.0.0", "unspecified"]),
    ("http://224.0.0.1/", ["224.0.0.1", "multicast"]),
    ("http://239.255.255.250:1900/", ["multicast"]),
    ("http://240.0.0.1/", ["240.0.0.1", "reserved"]),
    ("http://255.255.255.255/", ["255.255.255.255"]),
    ("http://198.18.0.1/", ["198.18.0.1", "non-public"]),
    ("http://[::1]/", ["::1", "loopback"]),
    ("http://[0:0:0:0:0:0:0:1]:8080/", ["::1", "loopback"]),
    ("http://[::]/", ["unspecified"]),
    ("http://[::ffff:127.0.0.1]/", ["IPv6 form of 127.0.0.1", "loopback"]),
    ("http://[0:0:0:0:0:ffff:7f00:1]/", ["IPv6 form of 127.0.0.1", "loopback"]),
    ("http://[::ffff:10.0.0.1]/", ["IPv6 form of 10.0.0.1", "private"]),
    ("http://[::ffff:a9fe:a9fe]/", ["IPv6 form of 169.254.169.254", "metadata"]),
    ("http://[::ffff:0:7f00:1]/", ["IPv6 form of 127.0.0.1", "loopback"]),
    ("http://[::127.0.0.1]/", ["IPv6 form of 127.0.0.1", "loopback"]),
    ("http://[::10.0.0.1]/", ["IPv6 form of 10.0.0.1", "private"]),
    ("http://[2002:7f00:1::]/", ["IPv6 form of 127.0.0.1", "loopback"]),
    ("http://[2002:c0a8:101::1]/", ["IPv6 form of 192.168.1.1", "private"]),
    ("http://[64:ff9b::10.0.0.1]/", ["IPv6 form of 10.0.0.1", "private"]),
    ("http://[64:ff9b::a9fe:a9fe]/", ["IPv6 form of 169.254.169.254", "metadata"]),
    ("http://[64:ff9b:1::a00:1]/", ["local-use NAT64"]),
    ("http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", ["IPv6 form of 10.0.0.1", "private"]),
    ("http://[fe80::1]/", ["fe80::1", "link-local"]),
    ("http://[fe80::1%25eth0]/", ["link-local"]),
    ("http://[fec0::1]/", ["site-local"]),
    ("http://[fc00::1]/", ["fc00::1", "private"]),
    ("http://[fd12:3456::1]/", ["private"]),
    ("http://[fd00:ec2::254]/", ["fd00:ec2::254", "metadata"]),
    ("http://[ff02::1]/", ["multicast"]),
    ("http://[2001:db8::1]/", ["non-public"]),
]


@pytest.mark.parametrize(("url", "words"), REFUSED_LITERALS)
async def test_refuses_non_public_ip_literals_in_every_spelling(url: str, words: list[str]) -> None:
    with pytest.raises(URLRefused) as caught:
        await check_url(url, NetPolicy(), must_not_resolve)
    message = str(caught.value)
    assert message.startswith(f"refusing to fetch {url}: ")
    for word in words:
        assert word in message
    assert caught.value.url == url
    assert caught.value.address is not None
    assert caught.value.tool == "fetch_url"
    assert isinstance(caught.value, ToolArgumentError)


# (url, words the refusal must contain)
REFUSED_NAMES = [
    ("http://localhost/", ["localhost is a loopback name"]),
    ("http://LOCALHOST./", ["localhost is a loopback name"]),
    ("http://app.localhost:3000/", ["loopback name"]),
    (
        "http://metadata.google.internal/computeMetadata/v1/",
        ["metadata.google.internal", "metadata"],
    ),
    ("http://METADATA.GOOGLE.INTERNAL./", ["metadata.google.internal", "metadata"]),
    ("http://metadata/", ["metadata"]),
    ("http://internal.test/", ["internal.test resolves to 10.0.0.5, a private address"]),
    ("http://Internal.Test./", ["internal.test resolves to 10.0.0.5"]),
    ("http://router.test/", ["192.168.1.1", "private"]),
    ("http://corp.test/", ["172.20.3.4", "private"]),
    ("http://cgnat.test/", ["100.64.0.7", "shared"]),
    ("http://linklocal.test/", ["169.254.10.10", "link-local"]),
    ("https://metadata-alias.test/", ["169.254.169.254", "metadata"]),
    ("http://ula.test/", ["fd12:3456::1", "private"]),
    ("http://v6metadata.test/", ["fd00:ec2::254", "metadata"]),
    ("http://v6loop.test/", ["::1", "loopback"]),
    ("http://mapped.test/", ["IPv6 form of 10.1.2.3", "private"]),
    ("http://zero.test/", ["0.0.0.0", "unspecified"]),
    ("http://mixed.test/", ["mixed.test resolves to 10.0.0.5, a private address"]),
    ("http://mixed-late.test/", ["::1", "loopback"]),
]


@pytest.mark.parametrize(("url", "words"), REFUSED_NAMES)
async def test_refuses_names_that_lead_to_non_public_addresses(url: str, words: list[str]) -> None:
    with pytest.raises(URLRefused) as caught:
        await check_url(url, NetPolicy(), StubResolver())
    for word in words:
        assert word in str(caught.value)
    assert "allow_hosts" in str(caught.value)


# (url, words the refusal must contain)
MALFORMED = [
    ("file:///etc/passwd", ["only http:// and https://", "file:"]),
    ("gopher://example.com:70/_GET", ["gopher:"]),
    ("ftp://example.com/file", ["ftp:"]),
    ("javascript:alert(1)", ["javascript:"]),
    ("data:text/html,<script>alert(1)</script>", ["data:"]),
    ("//example.com/", ["without a scheme"]),
    ("example.com", ["without a scheme"]),
    ("", ["without a scheme"]),
    ("http://user:pass@example.com/", ["user name or password"]),
    ("http://user@example.com/", ["user name or password"]),
    ("http://example.com@10.0.0.1/", ["user name or password"]),
    ("http:///path", ["no host"]),
    ("http://:80/", ["no host"]),
    ("http:/example.com", ["no host"]),
    ("http://example.com:0/", ["port 0"]),
    ("http://example.com:99999/", ["port 99999"]),
    ("http://" + "a" * 2100 + ".com/", ["longer than 2048"]),
    ("http://example.com/" + "a" * 2048, ["longer than 2048"]),
    ("http://1.2.3.4.5/", ["not a valid IP address or host name"]),
    ("http://08.1/", ["not a valid IP address", "bad octal part"]),
    ("http://0x7g.1/", ["not a valid IP address"]),
    ("http://4294967296/", ["not a valid IP address"]),
    ("http://127.0.0.256x.1/", ["not a valid IP address"]),
    ("http://example.123/", ["not a valid IP address"]),
    ("http://a b.com/", ["not a valid host name"]),
    ("http://%31%32%37.0.0.1/", ["not a valid IP address or host name"]),
    ("http://%6c%6f%63%61%6c%68%6f%73%74/", ["not a valid host name"]),
    ("http://a..b/", ["not a valid host name"]),
    ("http://256.0.0.1/", ["not a valid URL"]),
    # httpx refuses four-number hosts with leading zeros, so they can never be sent.
    ("http://0177.0.0.1/", ["not a valid URL", "Invalid IPv4 address"]),
    ("http://0251.0376.0251.0376/", ["not a valid URL", "Invalid IPv4 address"]),
    ("http://１２７.０.０.１/", ["not a valid URL"]),
]


@pytest.mark.parametrize(("url", "words"), MALFORMED)
async def test_refuses_other_schemes_credentials_and_malformed_hosts(
    url: str, words: list[str]
) -> None:
    with pytest.raises(URLRefused) as caught:
        await check_url(url, NetPolicy(), must_not_resolve)
    for word in words:
        assert word in str(caught.value)
    assert len(str(caught.value)) < 500


# (url, expected CheckedURL)
ALLOWED = [
    (
        f"http://{PUBLIC_V4}/",
        CheckedURL(f"http://{PUBLIC_V4}/", "http", PUBLIC_V4, 80, "/", (PUBLIC_V4,), True),
    ),
    (
        "HTTPS://Example.COM.:8443/a/b?q=1#frag",
        CheckedURL(
            "https://example.com:8443/a/b?q=1",
            "https",
            "example.com",
            8443,
            "/a/b?q=1",
            (PUBLIC_V4, PUBLIC_V6),
            False,
        ),
    ),
    (
        "https://bücher.example/",
        CheckedURL(
            "https://xn--bcher-kva.example/",
            "https",
            "xn--bcher-kva.example",
            443,
            "/",
            (PUBLIC_V4,),
            False,
        ),
    ),
    (
        "http://[2606:4700:4700::1111]:8080/",
        CheckedURL(
            "http://[2606:4700:4700::1111]:8080/",
            "http",
            "2606:4700:4700::1111",
            8080,
            "/",
            ("2606:4700:4700::1111",),
            True,
        ),
    ),
    (
        "http://1572395042/",  # 93.184.216.34 as one number
        CheckedURL(f"http://{PUBLIC_V4}/", "http", PUBLIC_V4, 80, "/", (PUBLIC_V4,), True),
    ),
]


@pytest.mark.parametrize(("url", "expected"), ALLOWED)
async def test_allows_public_addresses_and_names(url: str, expected: CheckedURL) -> None:
    resolver = StubResolver()
    assert await check_url(url, NetPolicy(), resolver) == expected
    if not expected.literal:
        assert resolver.calls == [(expected.host, expected.port)]  # resolved once, IDNA form
    else:
        assert resolver.calls == []


def test_host_header_brackets_ipv6_and_keeps_non_default_ports() -> None:
    assert CheckedURL("", "https", "example.com", 443, "/", (), False).host_header == "example.com"
    assert CheckedURL("", "http", "example.com", 8080, "/", (), False).host_header == (
        "example.com:8080"
    )
    assert CheckedURL("", "http", "::1", 80, "/", (), True).host_header == "[::1]"


@pytest.mark.parametrize(
    ("allow", "url"),
    [
        ({"127.0.0.1"}, "http://127.0.0.1:8080/"),
        ({"127.0.0.1"}, "http://2130706433:8080/"),  # same address, other spelling
        ({"127.0.0.1"}, "http://127.1/"),
        ({"localhost"}, "http://localhost:8080/"),
        ({"LOCALHOST."}, "http://localhost./"),
        ({"[::1]"}, "http://[::1]/"),
        ({"::1"}, "http://[0:0:0:0:0:0:0:1]/"),
        ({"internal.test"}, "http://internal.test/"),
        ({"10.0.0.5"}, "http://internal.test/"),  # the name leads only to an allowed address
        ({"169.254.169.254"}, "http://169.254.169.254/"),
        ({"metadata.google.internal"}, "http://metadata.google.internal/"),
    ],
)
async def test_allow_hosts_permits_what_the_user_listed(allow: set[str], url: str) -> None:
    zone = {**ZONE, "metadata.google.internal": ["169.254.169.254"]}
    checked = await check_url(url, NetPolicy(allow_hosts=frozenset(allow)), StubResolver(zone))
    assert checked.addresses


@pytest.mark.parametrize(
    ("allow", "url", "word"),
    [
        ({"127.0.0.1"}, "http://10.0.0.1/", "10.0.0.1"),
        ({"127.0.0.1"}, "http://[::1]/", "::1"),
        ({"localhost"}, "http://127.0.0.1/", "127.0.0.1"),
        ({"10.0.0.5"}, "http://mixed-late.test/", "::1"),
        ({"internal.test"}, "http://sub.internal.test.evil/", "internal.test.evil"),
        ({"127.0.0.1"}, "ftp://127.0.0.1/", "ftp:"),
        ({"127.0.0.1"}, "http://u:p@127.0.0.1/", "user name"),
    ],
)
async def test_allow_hosts_permits_nothing_else(allow: set[str], url: str, word: str) -> None:
    zone = {**ZONE, "sub.internal.test.evil": ["10.0.0.9"]}
    with pytest.raises(URLRefused, match=word.replace(".", r"\.")):
        await check_url(url, NetPolicy(allow_hosts=frozenset(allow)), StubResolver(zone))


async def test_dns_failure_is_a_clear_tool_error() -> None:
    async def offline(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    async def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def empty(host: str, port: int) -> list[str]:
        return []

    async def garbage(host: str, port: int) -> list[str]:
        return ["not-an-ip"]

    cases = [
        (offline, "could not reach example.com: DNS lookup failed (offline?)"),
        (no_such_host, "could not reach example.com: no such host (misspelled, or offline?)"),
        (empty, "could not reach example.com: DNS returned no address"),
        (garbage, "resolver returned a non-address for example.com"),
    ]
    for resolver, message in cases:
        with pytest.raises(ToolError) as caught:
            await check_url("https://example.com/", NetPolicy(), resolver)
        assert str(caught.value).startswith(message)
        assert not isinstance(caught.value, URLRefused)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("1.2.3", "1.2.0.3"),
        ("1.65539", "1.1.0.3"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("example.com", None),
        ("0x7f.example", None),
        ("1e3", None),
    ],
)
def test_parse_ip_literal(host: str, expected: str | None) -> None:
    parsed = parse_ip_literal(host)
    assert parsed == (None if expected is None else ipaddress.ip_address(expected))


@pytest.mark.parametrize(
    "address", [PUBLIC_V4, PUBLIC_V6, "8.8.8.8", "1.1.1.1", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8"]
)
def test_public_addresses_have_no_problem(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "bad",
    [
        {"allow_hosts": "localhost"},
        {"allow_hosts": frozenset({"http://localhost/"})},
        {"allow_hosts": frozenset({"1.2.3.4.5"})},
        {"max_bytes": 0},
        {"max_bytes": True},
        {"max_redirects": -1},
        {"max_redirects": 1.5},
        {"timeout_s": 0},
        {"timeout_s": float("inf")},
        {"timeout_s": True},
    ],
)
def test_policy_rejects_bad_settings(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        NetPolicy(**bad)  # type: ignore[arg-type]


async def test_system_resolver_answers_ip_strings_without_blocking() -> None:
    assert await system_resolve("127.0.0.1", 80) == ["127.0.0.1"]


NON_PUBLIC = [
    ipaddress.IPv4Network(n)
    for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")
]
SPELLINGS: list[Callable[[int], str]] = [str, hex, lambda n: f"0X{n:X}", lambda n: f"0{n:o}"]


@st.composite
def non_public_ipv4_spellings(draw: st.DrawFn) -> tuple[str, ipaddress.IPv4Address]:
    network = draw(st.sampled_from(NON_PUBLIC))
    value = draw(st.integers(int(network.network_address), int(network.broadcast_address)))
    octets = value.to_bytes(4, "big")
    count = draw(st.integers(1, 4))  # 1: one number, 4: dotted quad, between: 127.1 style
    numbers = [*octets[: count - 1], int.from_bytes(octets[count - 1 :], "big")]
    parts = [draw(st.sampled_from(SPELLINGS))(number) for number in numbers]
    trailing_dot = draw(st.booleans())
    return ".".join(parts) + ("." if trailing_dot else ""), ipaddress.IPv4Address(value)


@settings(database=None, deadline=500, max_examples=300)
@given(non_public_ipv4_spellings())
def test_any_spelling_of_a_non_public_ipv4_is_refused(
    example: tuple[str, ipaddress.IPv4Address],
) -> None:
    host, address = example
    with pytest.raises(URLRefused) as caught:
        asyncio.run(check_url(f"http://{host}/", NetPolicy(), must_not_resolve))
    if caught.value.address is None:  # httpx itself refuses e.g. 0177.0.0.01
        assert "Invalid IPv4 address" in str(caught.value)
    else:
        assert caught.value.address == str(address)
