from __future__ import annotations

import asyncio
import asyncio.sslproto
import gc
import platform
import ssl
from collections.abc import Iterator

import pytest

from daemon import heap
from daemon.clock import FakeClock

ASYNCIO_TLS_BUFFER = 256 * 1024


@pytest.fixture
def tls_buffer() -> Iterator[None]:
    """asyncio's own buffer size during the test (another test's ``settle`` may have lowered it already)."""
    before = asyncio.sslproto.SSLProtocol.max_size
    asyncio.sslproto.SSLProtocol.max_size = ASYNCIO_TLS_BUFFER
    yield
    asyncio.sslproto.SSLProtocol.max_size = before


def test_settle_freezes_start_up_objects_and_collects_the_young_generation_less_often(
    tls_buffer: None,
) -> None:
    before = gc.get_threshold()
    try:
        heap.settle()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, before[1], before[2])
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_after_settle_a_tls_connection_holds_a_16_kib_receive_buffer_not_256(tls_buffer: None) -> None:
    def buffer_of_a_new_connection() -> int:
        loop = asyncio.get_running_loop()
        protocol = asyncio.sslproto.SSLProtocol(
            loop,
            asyncio.Protocol(),
            ssl.create_default_context(),
            loop.create_future(),
            server_hostname="shop",
        )
        return len(protocol._ssl_buffer)

    assert buffer_of_a_new_connection() == ASYNCIO_TLS_BUFFER  # asyncio's own, zeroed and resident
    heap.shrink_tls_read_buffer()
    assert buffer_of_a_new_connection() == heap.TLS_READ_BUFFER == 16 * 1024
    heap.shrink_tls_read_buffer(64 * 1024)  # never grows it back
    assert buffer_of_a_new_connection() == 16 * 1024


class Stop(Exception):
    """Ends the endless trim loop after the trims a test wants."""


async def test_the_heap_is_trimmed_once_per_interval() -> None:
    clock = FakeClock()
    started = clock.monotonic()
    trimmed_at: list[float] = []

    def trim() -> bool:
        trimmed_at.append(clock.monotonic() - started)
        if len(trimmed_at) == 3:
            raise Stop
        return True

    with pytest.raises(Stop):
        await heap.trim_periodically(300.0, trim, clock)
    assert trimmed_at == [300.0, 600.0, 900.0]


async def test_an_interval_of_zero_turns_trimming_off() -> None:
    calls: list[int] = []
    await asyncio.wait_for(heap.trim_periodically(0.0, lambda: bool(calls.append(1)), FakeClock()), 1)
    assert calls == []


def test_the_interval_comes_from_the_environment() -> None:
    assert heap.trim_interval_s({}) == heap.DEFAULT_TRIM_INTERVAL_S == 300.0
    assert heap.trim_interval_s({heap.ENV_TRIM_INTERVAL: "60"}) == 60.0
    assert heap.trim_interval_s({heap.ENV_TRIM_INTERVAL: "0"}) == 0.0
    assert heap.trim_interval_s({heap.ENV_TRIM_INTERVAL: "soon"}) == heap.DEFAULT_TRIM_INTERVAL_S


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_glibc_trim_calls_malloc_trim() -> None:
    trim = heap.glibc_trim()
    assert trim is not None
    blocks = [bytearray(4096) for _ in range(5000)]  # ~20 MB from malloc, then freed: something to return
    del blocks
    assert trim() is True
