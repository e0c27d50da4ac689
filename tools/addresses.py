"""Which IP addresses a network tool may reach, and IP literals in every spelling.

Kept apart from the URL checks in ``tools.netguard``, which use these to judge
each address a URL leads to.
"""

import ipaddress
import re

__all__ = ["IPAddress", "address_problem", "parse_ip_literal"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_IPV4_NUMBER = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")

_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
_RFC1918 = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
# IPv6 prefixes whose last 32 bits are an IPv4 address the packet ends up at.
_V4_IN_LOW_BITS = tuple(
    ipaddress.IPv6Network(n) for n in ("::ffff:0:0/96", "::ffff:0:0:0/96", "::/96", "64:ff9b::/96")
)
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_ULA = ipaddress.IPv6Network("fc00::/7")


def parse_ip_literal(host: str) -> IPAddress | None:
    """Parse a URL host as an IP address in any spelling browsers or ``inet_aton`` accept.

    IPv4 may be written with one to four parts, each decimal, octal (leading
    ``0``) or hex (``0x``); the last part fills the remaining bytes, so ``127.1``
    and ``2130706433`` are both 127.0.0.1. IPv6 is written without brackets; a
    zone may be percent-encoded (``fe80::1%25eth0``).

    Returns:
        The address, or None when ``host`` is a name.

    Raises:
        ValueError: ``host`` ends in a number but is no valid address; browsers
            refuse such hosts too, and resolvers disagree about them.
    """
    if ":" in host:
        return ipaddress.IPv6Address(host.replace("%25", "%", 1))
    parts = host.split(".")
    if not _IPV4_NUMBER.fullmatch(parts[-1]):
        return None
    if len(parts) > 4:
        raise ValueError(f"{host!r} has more than four numeric parts")
    numbers = [_ipv4_number(part, host) for part in parts]
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(f"{host!r} has a part out of range")
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _ipv4_number(part: str, host: str) -> int:
    if not _IPV4_NUMBER.fullmatch(part):
        raise ValueError(f"{host!r} mixes numbers and names")
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part[0] == "0":
        if not set(part) <= set("01234567"):
            raise ValueError(f"{host!r} has a bad octal part {part!r}")
        return int(part, 8)
    return int(part)


def address_problem(address: IPAddress) -> str | None:
    """Say why ``address`` must not be fetched from, e.g. "a private address"; None if public."""
    if address in _METADATA:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        return _ipv6_problem(address)
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if any(address in network for network in _RFC1918):
        return "a private address"
    if address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    # The rest of the special-purpose registry: 0/8, 192.0.0/24, benchmarking, TEST-NETs.
    return None if address.is_global else "a non-public address"


def _ipv6_problem(address: ipaddress.IPv6Address) -> str | None:
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address in _NAT64_LOCAL:
        return "a local-use NAT64 address"
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        problem = address_problem(embedded)
        if problem is not None:
            return f"an IPv6 form of {embedded}, {problem}"
        if any(address in network for network in _V4_IN_LOW_BITS):
            return None  # traffic goes to that public IPv4 address
    if address.is_link_local:
        return "a link-local address"
    if address.is_site_local:
        return "a site-local address"
    if address in _ULA:
        return "a private (unique local) address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    return None if address.is_global else "a non-public address"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if any(address in network for network in _V4_IN_LOW_BITS):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None
