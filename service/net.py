"""The client's address, honouring ``X-Forwarded-For`` only from trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from sanic import Request

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(item, strict=False) for item in items]


def _is_trusted(address: str, trusted: list[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(request: Request, trusted: list[IPNetwork]) -> str:
    """The peer address, or, when the peer is a trusted proxy, the nearest untrusted address
    in ``X-Forwarded-For`` (read from the right, since the left part is the client's say)."""
    peer = request.ip or "unknown"
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return hops[0] if hops else peer


def public_host(request: Request, trusted: list[IPNetwork]) -> str:
    """The host the client asked for: ``X-Forwarded-Host`` when a trusted proxy relayed the
    request (it may rewrite ``Host``), else the ``Host`` header."""
    forwarded = request.headers.get("x-forwarded-host", "")
    if forwarded and trusted and _is_trusted(request.ip or "", trusted):
        return forwarded.split(",")[0].strip()
    return request.headers.get("host", "")
