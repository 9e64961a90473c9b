"""What every network transport checks before it dials: names, addresses, resolver, TLS.

One home for the guards that SMTP, IMAP and the SSRF-safe HTTP client share, so that a
rule (a reserved name, a refused range) is written once and holds for every connection:

- reserved names (RFC 2606 / RFC 6761: ``*.example``, ``*.test``, ``*.invalid``,
  ``*.localhost``, ``example.com``/``.net``/``.org``) are never dialled nor resolved
  (DESIGN.md, "Nothing here needs the internet"); IP literals are not names;
- :func:`address_refusal` says why an address must not be dialled (loopback, private,
  link-local and cloud metadata, CGNAT, multicast, reserved, and the IPv6 forms of those);
- :data:`Resolver` is the injectable ``(host, port) -> addresses`` lookup (tests inject
  one so that nothing resolves), :func:`system_resolver` the default;
- :class:`Security` is the TLS mode of a mail connection, :func:`tls_context` the
  verifying context it uses.

Pure apart from :func:`system_resolver` (DNS) and :func:`tls_context` (the trust store).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable
from enum import StrEnum
from typing import Final

__all__ = [
    "IPAddress",
    "Resolver",
    "Security",
    "address_refusal",
    "ip_literal",
    "is_loopback_literal",
    "is_reserved_name",
    "system_resolver",
    "tls_context",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

Resolver = Callable[[str, int], list[str]]
"""Resolve ``(host, port)`` to IP address strings, best first; injected by tests so none
dials DNS."""


class Security(StrEnum):
    """How a mail connection (SMTP, IMAP) is protected."""

    #: TLS from the first byte (SMTPS, usually port 465; IMAPS, usually port 993).
    TLS = "tls"
    #: Plain connection upgraded with STARTTLS before anything else (SMTP usually port 587,
    #: IMAP usually port 143); a server that does not offer STARTTLS is refused, never used
    #: in clear.
    STARTTLS = "starttls"
    #: No encryption: only for a relay or server on the local machine or network, and for
    #: tests. SMTP refuses to send credentials this way unless the host is a loopback address.
    NONE = "none"


def tls_context(context: ssl.SSLContext | None) -> ssl.SSLContext:
    """``context`` if given (tests trust a self-signed certificate), else the system's trust
    store with certificates and host names verified."""
    return context or ssl.create_default_context()


# --- reserved names ---------------------------------------------------------------------------

_RESERVED_TLDS: Final = frozenset({"example", "test", "invalid", "localhost"})
_RESERVED_DOMAINS: Final = ("example.com", "example.net", "example.org")


def is_reserved_name(host: str) -> bool:
    """Whether ``host`` is a reserved name (RFC 2606 / RFC 6761) that aicmo never dials.

    ``localhost``, ``example``, and anything under ``.example``, ``.test``, ``.invalid``,
    ``.localhost``, ``example.com``/``.net``/``.org``. IP literals are not names.
    """
    name = host.strip().strip("[]").rstrip(".").lower()
    if not name:
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return False
    if name.rsplit(".", 1)[-1] in _RESERVED_TLDS:
        return True
    return any(name == domain or name.endswith("." + domain) for domain in _RESERVED_DOMAINS)


def ip_literal(host: str) -> str | None:
    """The canonical form of ``host`` when it is an IP literal (brackets allowed), else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def is_loopback_literal(host: str) -> bool:
    """Whether ``host`` is a loopback IP literal (``127.0.0.1``, ``::1``); names never are."""
    literal = ip_literal(host)
    return literal is not None and ipaddress.ip_address(literal).is_loopback


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (``socket.getaddrinfo``), in the system's order.

    Raises what :func:`socket.getaddrinfo` raises (:class:`socket.gaierror`, or
    :class:`UnicodeError` for a name IDNA cannot encode).
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            address = str(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
    return addresses


# --- address checks ---------------------------------------------------------------------------


def _v4(cidr: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(cidr)


def _v6(cidr: str) -> ipaddress.IPv6Network:
    return ipaddress.IPv6Network(cidr)


_LOOPBACK_V4: Final = _v4("127.0.0.0/8")

# First match wins, so the specific entries come before the blocks that contain them.
_V4_REFUSED: Final[tuple[tuple[ipaddress.IPv4Network, str], ...]] = (
    (_v4("0.0.0.0/32"), "the unspecified address"),
    (_v4("0.0.0.0/8"), "in 0.0.0.0/8 ('this network')"),
    (_LOOPBACK_V4, "a loopback address"),
    (_v4("10.0.0.0/8"), "a private address"),
    (_v4("172.16.0.0/12"), "a private address"),
    (_v4("192.168.0.0/16"), "a private address"),
    (_v4("169.254.169.254/32"), "a link-local address (cloud metadata)"),
    (_v4("169.254.0.0/16"), "a link-local address"),
    (_v4("100.64.0.0/10"), "a shared address (CGNAT, 100.64.0.0/10)"),
    (_v4("192.0.0.0/24"), "an IETF protocol assignment (192.0.0.0/24)"),
    (_v4("192.0.2.0/24"), "a documentation address"),
    (_v4("198.51.100.0/24"), "a documentation address"),
    (_v4("203.0.113.0/24"), "a documentation address"),
    (_v4("192.88.99.0/24"), "a 6to4 relay anycast address"),
    (_v4("198.18.0.0/15"), "a benchmarking address (198.18.0.0/15)"),
    (_v4("224.0.0.0/4"), "a multicast address"),
    (_v4("255.255.255.255/32"), "the broadcast address"),
    (_v4("240.0.0.0/4"), "a reserved address"),
)

_V6_NAT64: Final = _v6("64:ff9b::/96")
_V6_GLOBAL_UNICAST: Final = _v6("2000::/3")
_V6_REFUSED: Final[tuple[tuple[ipaddress.IPv6Network, str], ...]] = (
    (_v6("::/128"), "the unspecified address"),
    (_v6("::1/128"), "a loopback address"),
    (_v6("::/96"), "an IPv4-compatible address (deprecated)"),
    (_v6("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_v6("100::/64"), "a discard-only address"),
    (_v6("2001::/32"), "a Teredo tunnel address"),
    (_v6("2001:db8::/32"), "a documentation address"),
    (_v6("fd00:ec2::254/128"), "a unique local address (cloud metadata)"),
    (_v6("fc00::/7"), "a unique local (private) address"),
    (_v6("fe80::/10"), "a link-local address"),
    (_v6("fec0::/10"), "a site-local address"),
    (_v6("ff00::/8"), "a multicast address"),
)


def _v4_refusal(ip: ipaddress.IPv4Address, allow_loopback: bool) -> str | None:
    if allow_loopback and ip in _LOOPBACK_V4:
        return None
    for network, reason in _V4_REFUSED:
        if ip in network:
            return reason
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_private:
        return "not a global address"
    return None


def _embedded(ip: ipaddress.IPv4Address, how: str, allow_loopback: bool) -> str | None:
    reason = _v4_refusal(ip, allow_loopback)
    return None if reason is None else f"{how} {ip}, {reason}"


def address_refusal(ip: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why the guard refuses ``ip`` (e.g. ``"a loopback address"``), or None if it may be dialled.

    Only public unicast addresses pass. ``allow_loopback`` lets 127.0.0.0/8 and ::1 (and
    their IPv4-mapped form) through; private and link-local ranges are refused regardless.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return _v4_refusal(ip, allow_loopback)
    if ip.scope_id:
        return "a scoped (interface-bound) address"
    if ip.ipv4_mapped is not None:
        return _embedded(ip.ipv4_mapped, "an IPv4-mapped form of", allow_loopback)
    if ip in _V6_NAT64:
        embedded = ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
        return _embedded(embedded, "a NAT64 form of", False)
    if ip.sixtofour is not None:
        reason = _embedded(ip.sixtofour, "a 6to4 address embedding", False)
        if reason is not None:
            return reason
    if allow_loopback and ip == ipaddress.IPv6Address("::1"):
        return None
    for network, label in _V6_REFUSED:
        if ip in network:
            return label
    if ip not in _V6_GLOBAL_UNICAST:
        return "not a global unicast address"
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_private:
        return "not a global address"
    return None
