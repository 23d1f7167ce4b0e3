"""One aiohttp connector (connection pool, DNS cache) per event loop, shared by every client's session.

A fleet has six HTTP clients per merchant. With a connector each, 1,000 merchants held 6,000 pools, each
with its DNS cache, cleanup timers and its own idle keep-alive connections — even to the one FFN host every
merchant calls. Shared, a connection to a host is reused by whichever client calls that host next, and the
pool holds about as many connections per host as requests ran there at once.

Sharing a connection across merchants leaks nothing between them: credentials travel per request
(headers, query), cookies stay in each client's own session, and a client's base URL, timeouts and
default headers are its session's and its own. The connector sets no total or per-host cap: one FFN host
serves every merchant, so a shared cap would let one merchant's burst queue the others' requests; each
client's rate limiter bounds its own concurrency, as before.

Each client holds a reference from its first request until it is closed; the last one closes the
connector (shutdown). A reload closes the replaced clients after the new ones exist, so the pool and its
warm connections survive it.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

import aiohttp


@dataclass
class _Shared:
    connector: aiohttp.TCPConnector
    holders: int = 0


# Per loop: a connector belongs to the loop it was made on (tests run a loop each).
_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Shared] = weakref.WeakKeyDictionary()


def acquire(*, keepalive_s: float) -> aiohttp.TCPConnector:
    """The running loop's shared connector, made on first use; the caller must ``release`` it once.
    ``keepalive_s``: how long an idle connection waits for the next request (taken when it is made)."""
    loop = asyncio.get_running_loop()
    shared = _SHARED.get(loop)
    if shared is None or shared.connector.closed:
        shared = _SHARED[loop] = _Shared(
            aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=keepalive_s)
        )
    shared.holders += 1
    return shared.connector


async def release(connector: aiohttp.TCPConnector) -> None:
    """One holder lets go; the last closes the connector and its connections."""
    shared = next((s for s in _SHARED.values() if s.connector is connector), None)
    if shared is None:  # already closed and replaced
        return
    shared.holders -= 1
    if shared.holders <= 0:
        for loop, entry in list(_SHARED.items()):
            if entry is shared:
                del _SHARED[loop]
        await connector.close()


def holders() -> int:
    """Clients holding the running loop's connector (0: none made, or closed)."""
    shared = _SHARED.get(asyncio.get_running_loop())
    return 0 if shared is None else shared.holders
