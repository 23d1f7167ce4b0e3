"""Helpers of the ops chaos tests: a shop that never answers, and merchant files built around it."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.stack import TIMING, channel, merchant_file


@dataclass
class Blackhole:
    """Accepts TCP connections and never answers: the worst kind of hung shop."""

    url: str
    connections: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)


@asynccontextmanager
async def blackhole() -> AsyncIterator[Blackhole]:
    hole = Blackhole(url="")

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hole.connections += 1
        hole.writers.append(writer)
        try:
            await reader.read()  # until the client gives up
        except ConnectionError:
            pass

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    hole.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield hole
    finally:
        for writer in hole.writers:
            writer.close()
        server.close()
        await server.wait_closed()


def write_merchant(
    path: Path,
    ffn_url: str,
    shops: Sequence[tuple[str, str, str]],
    *,
    product_master: str,
    shop_stock_s: float = 1,
    write_deadline_s: float | None = None,
    grace_s: float | None = None,
) -> None:
    """The e2e merchant file with the given shops, per-shop stock interval and write deadline."""
    channels = [channel(name, kind, url, write_deadline_s=write_deadline_s) for name, kind, url in shops]
    merchant_file(
        ffn_url,
        channels,
        path.parent / "state",
        product_master=product_master,
        timing=dataclasses.replace(TIMING, shop_stock_s=shop_stock_s),
        **({} if grace_s is None else {"shutdown_grace_s": grace_s}),
    ).write(path)


@contextmanager
def server_dir() -> Iterator[Path]:
    """A directory for an embedded server outside pytest's tmp root: pytest keeps that root 0700 (and
    resets it when another session starts), which the server's own user could not traverse as root."""
    path = Path(tempfile.mkdtemp(prefix="ffn-sync-ops-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
