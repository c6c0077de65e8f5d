"""Is this host name this machine? The one loopback check of the code base.

Several decisions depend on it: the server opens roles without a token only on loopback,
`check-config` warns about a reachable server without tokens, IMAP in plain text is allowed
only to this machine, and a websocket without TLS only to a local endpoint. They must agree, so
they all ask here: an IP literal (IPv4, IPv6, bracketed IPv6, IPv4-mapped IPv6) is loopback when
`ipaddress` says so (all of 127.0.0.0/8, ::1), and the only name that counts is `localhost`
(any other name could resolve anywhere).
"""

from __future__ import annotations

import ipaddress


def is_loopback(host: str | None) -> bool:
    """True for `localhost`, 127.0.0.0/8, ::1 (also written `[::1]`) and their IPv4-mapped
    forms; False for every other name or address, and for anything unparsable."""
    name = (host or "").strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name.lower().rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
