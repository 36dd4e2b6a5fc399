"""Where the platform may send a request someone else chose the address of: a subscription's
webhook `endpoint` (a developer's) and a device's `command_url` (a city's).

Such an address must not reach the network the platform runs in: the server itself
(127.0.0.1), the cloud's metadata service (169.254.169.254), a database on 10.x. Its host
is resolved, and every address it resolves to must be a public one. The rule is applied
when the address is saved, and again just before each request, since DNS may answer
otherwise by then. ICITY_WEBHOOK_PRIVATE_NETWORKS lifts it, for development and for tests
whose receivers listen on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from icity.config import get_settings

DEFAULT_PORTS = {"http": 80, "https": 443}


def refusal(url: str) -> str | None:
    """Why no request may go to `url`, in words for whoever chose it; None when it may go.
    A host that does not resolve is not refused here: the request to it fails by itself."""
    if get_settings().webhook_private_networks:
        return None
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or DEFAULT_PORTS.get(parts.scheme, 443)
    except ValueError:
        return f"{url} is not a URL"
    if not host:
        return f"{url} names no host"
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except (socket.gaierror, UnicodeError):
        return None
    for text in sorted(resolved):
        if not _public(ipaddress.ip_address(text)):
            where = host if text == host else f"{host} resolves to {text}, which"
            return (
                f"{where} is a private, loopback, link-local, multicast or reserved address: "
                "give an address reachable on the public internet"
            )
    return None


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):  # an IPv4 address written as IPv6 is that IPv4 address
        address = address.ipv4_mapped or address.sixtofour or address
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )
