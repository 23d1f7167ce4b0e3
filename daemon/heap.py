"""The memory heap tuned for a long-running sync process: the garbage collector and glibc's malloc.

Syncing allocates many short-lived containers (a page of orders as dicts, their payloads, the requests'
bodies): with CPython's default first-generation threshold (700) the collector ran ~450 times for 2,000
exported orders and took ~10 % of the daemon's CPU (bench throughput). Objects made at start-up (modules,
config, clients) live as long as the process, so they are frozen out of every later full collection.
Reference cycles are still collected, only less often.

Objects over 512 bytes (response bodies, /metrics renders, JSON pages) come from glibc's malloc, which keeps
what they free inside its heap for reuse: an idle fleet's RSS then creeps for hours although the live heap
is flat (bench soak, RESULTS.md). ``trim_periodically`` hands that free-but-kept memory back to the kernel
with ``malloc_trim(0)`` every ``FFN_SYNC_MALLOC_TRIM_S`` seconds (default 300; 0 turns it off); one call
walks the heap in a few milliseconds. Without glibc (musl, macOS) there is nothing to call and it does nothing.

asyncio gives every TLS connection a 256 KiB receive buffer (``asyncio.sslproto.SSLProtocol.max_size``,
allocated zeroed, so resident, for the connection's whole life; CPython 3.11–3.13), and the connection's
incoming memory BIO keeps as much capacity as one read filled. A fleet keeps one connection per shop host
alive between polls (~3,000 for 1,000 merchants): ~300 KB each held idle, ~900 MB in all
(``python -m bench.connection_cost --tls``). ``settle`` lowers it to 16 KiB, one TLS record: ~65 KB per idle
connection; a large body (catch-up pages, bulk results) is then read in more, smaller steps (~2 ms more CPU
per MB, measured), an empty poll costs the same.
"""

from __future__ import annotations

import asyncio.sslproto
import ctypes
import ctypes.util
import gc
import os
from collections.abc import Callable, Mapping

from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock

YOUNG_THRESHOLD = 10_000
TLS_READ_BUFFER = 16 * 1024  # one TLS record's plaintext
ENV_TRIM_INTERVAL = "FFN_SYNC_MALLOC_TRIM_S"
DEFAULT_TRIM_INTERVAL_S = 300.0

Trim = Callable[[], bool]


def settle() -> None:
    """Call once start-up is done (the runtime is built): later collections skip what exists now, and TLS
    connections opened from now on get a small receive buffer."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    shrink_tls_read_buffer()


def shrink_tls_read_buffer(size: int = TLS_READ_BUFFER) -> None:
    """asyncio's per-connection TLS receive buffer down to ``size`` bytes (see the module); a Python
    whose asyncio has no such class attribute is left as it is."""
    protocol = getattr(asyncio.sslproto, "SSLProtocol", None)
    current = getattr(protocol, "max_size", None)
    if isinstance(current, int) and current > size:
        protocol.max_size = size  # type: ignore[union-attr]


def glibc_trim() -> Trim | None:
    """``malloc_trim(0)`` of the C library this process runs on, or None where it has none (not glibc)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        malloc_trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    return lambda: bool(malloc_trim(0))


def trim_interval_s(env: Mapping[str, str] = os.environ) -> float:
    """Seconds between trims from ``FFN_SYNC_MALLOC_TRIM_S``; 0 (or less) turns trimming off."""
    raw = env.get(ENV_TRIM_INTERVAL, "").strip()
    if not raw:
        return DEFAULT_TRIM_INTERVAL_S
    try:
        return float(raw)
    except ValueError:
        logger.warning(
            "{}={!r} is not a number of seconds; trimming every {:.0f} s",
            ENV_TRIM_INTERVAL,
            raw[:40],
            DEFAULT_TRIM_INTERVAL_S,
        )
        return DEFAULT_TRIM_INTERVAL_S


async def trim_periodically(interval_s: float, trim: Trim | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
    """Run as a task for the daemon's life: give free heap memory back every ``interval_s`` seconds."""
    trim = trim or glibc_trim()
    if trim is None or interval_s <= 0:
        return
    while True:
        await clock.sleep(interval_s)
        started = clock.monotonic()
        released = trim()
        logger.debug(
            "malloc_trim: {} in {:.1f} ms",
            "memory returned" if released else "nothing to return",
            (clock.monotonic() - started) * 1000,
        )
