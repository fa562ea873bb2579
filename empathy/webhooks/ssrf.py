"""The SSRF guard: where may the service send a request?

A subscriber chooses the URL, so a URL must never make the service reach its
own network (a cloud metadata address, a database on localhost, a private
admin page).  The check runs on the *resolved* addresses, at registration and
again before every connection, and the connection then goes to the address
that was checked (see :mod:`empathy.webhooks.delivery`), so a DNS answer that
changes between the check and the connect (rebinding) cannot slip through.

Refused unless the allowlist admits them: private, loopback, link-local,
multicast, reserved, unspecified, CGNAT (100.64/10), 192.0.0.0/24,
benchmarking (198.18/15), documentation ranges, IPv6 ULA, NAT64
(64:ff9b::/96, whose embedded IPv4 address is checked too), 6to4 and
IPv4-mapped/compatible forms (checked as the IPv4 address they carry).
``ipaddress``'s ``is_global`` alone is not enough: it calls
``64:ff9b::7f00:1`` (NAT64 of 127.0.0.1) global.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["AddressPolicy", "BlockedAddress", "Target", "parse_target"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_BLOCKED: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
        "::/128",
        "::1/128",
        "::/96",
        "::ffff:0:0/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)


class BlockedAddress(ValueError):
    """A URL that the guard refuses (the message says why)."""


@dataclass(frozen=True)
class Target:
    """A URL split for connecting: scheme, host name, port, and the path with query."""

    scheme: str
    host: str
    port: int
    path: str


def parse_target(url: str) -> Target:
    """Split an endpoint URL; only absolute http(s) URLs with a host are accepted."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedAddress(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise BlockedAddress("the URL must start with http:// or https://")
    if not parts.hostname:
        raise BlockedAddress("the URL has no host")
    if parts.username or parts.password:
        raise BlockedAddress("credentials in the URL are not allowed")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, IPv4-compatible or NAT64 IPv6 address."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    packed = int(ip)
    if ip in ipaddress.ip_network("64:ff9b::/96") or ip in ipaddress.ip_network("::/96"):
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return None


@dataclass
class AddressPolicy:
    """Which resolved addresses the service may connect to.

    ``allowed`` is empty by default; tests and local development admit
    loopback with ``["127.0.0.0/8"]``.  An allowed network admits an address
    before any block applies (svix's ``whitelist_subnets``).
    """

    allowed: list[Network] = field(default_factory=list)
    https_only: bool = False

    @classmethod
    def from_strings(cls, allowed: Iterable[str], https_only: bool = False) -> AddressPolicy:
        nets: list[Network] = []
        for item in allowed:
            try:
                nets.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ValueError(f"allowed subnet {item!r} is not an IP network (e.g. 127.0.0.0/8)") from None
        return cls(nets, https_only)

    def _admitted(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.allowed)

    def check_ip(self, ip: IPAddress | str) -> IPAddress:
        """Return the address if it may be reached, else raise :class:`BlockedAddress`."""
        addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
        if isinstance(addr, ipaddress.IPv6Address) and addr.scope_id:
            raise BlockedAddress(f"{addr} has a zone id")
        candidates: list[IPAddress] = [addr]
        inner = _embedded_ipv4(addr)
        if inner is not None:
            candidates.append(inner)
        if any(self._admitted(c) for c in candidates):
            return addr
        for c in candidates:
            if any(c.version == net.version and c in net for net in _BLOCKED) or not c.is_global:
                raise BlockedAddress(f"{addr} is a private, loopback, link-local or reserved address")
        return addr

    def check_scheme(self, target: Target) -> None:
        if self.https_only and target.scheme != "https":
            raise BlockedAddress("only https:// endpoints are allowed")

    def _vet(self, target: Target, infos: list[tuple[object, ...]]) -> list[str]:
        addresses: list[str] = []
        for info in infos:
            sockaddr = info[4]
            assert isinstance(sockaddr, tuple)
            host = str(sockaddr[0])
            if host not in addresses:
                addresses.append(host)
        if not addresses:
            raise BlockedAddress(f"{target.host} does not resolve")
        for host in addresses:  # every answer must pass, or a rebinding answer could be picked later
            self.check_ip(host.split("%", 1)[0])
        return addresses

    def resolve(self, url: str) -> tuple[Target, list[str]]:
        """Resolve and check a URL (blocking); return the target and its vetted addresses."""
        target = parse_target(url)
        self.check_scheme(target)
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise BlockedAddress(f"{target.host} does not resolve: {exc}") from None
        return target, self._vet(target, list(infos))

    async def resolve_async(self, url: str) -> tuple[Target, list[str]]:
        """As :meth:`resolve`, without blocking the event loop (an IP literal needs no lookup)."""
        target = parse_target(url)
        self.check_scheme(target)
        try:
            literal = ipaddress.ip_address(target.host)
        except ValueError:
            literal = None
        if literal is not None:
            return target, [str(self.check_ip(literal))]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise BlockedAddress(f"{target.host} does not resolve: {exc}") from None
        return target, self._vet(target, list(infos))
