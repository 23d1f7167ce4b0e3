"""Loopback addresses of their own for a fleet's shops: 127.1.0.1, 127.1.0.2, …

Real shops are each their own host, so an HTTP client keeps (at least) one connection per shop; a fleet
whose shops all sit at 127.0.0.1:PORT/shops/… lets the client reuse a few connections for all of them.
Linux routes all of 127.0.0.0/8 to the loopback interface, but a socket bound to 127.0.0.1 answers only
127.0.0.1, so a sandbox listens on each address it serves (never on 0.0.0.0: nothing leaves the machine).
"""

from __future__ import annotations

_PREFIX = "127.1"
_PER_BLOCK = 250  # the last octet runs 1..250: no .0 or .255 address
MAX_LOOPBACK_HOSTS = _PER_BLOCK * 256


def loopback_host(index: int) -> str:
    """The ``index``-th (from 0) extra loopback address: 127.1.0.1, 127.1.0.2, … 127.1.0.250, 127.1.1.1, …"""
    if not 0 <= index < MAX_LOOPBACK_HOSTS:
        raise ValueError(f"loopback host index {index} is outside 0..{MAX_LOOPBACK_HOSTS - 1}")
    block, offset = divmod(index, _PER_BLOCK)
    return f"{_PREFIX}.{block}.{offset + 1}"


def loopback_hosts(count: int) -> list[str]:
    """The first ``count`` extra loopback addresses."""
    if not 0 <= count <= MAX_LOOPBACK_HOSTS:
        raise ValueError(f"{count} loopback hosts: 0 to {MAX_LOOPBACK_HOSTS} are available")
    return [loopback_host(index) for index in range(count)]
