"""Helpers of the ops chaos tests: a shop that never answers, and merchant files built around it."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.stack import merchant_toml


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
    text = merchant_toml(ffn_url, shops, state_dir=path.parent / "state", dsn_env="E2E_DSN")
    text = text.replace(f'product_master = "{shops[0][0]}"', f'product_master = "{product_master}"')
    text = text.replace(
        "orders = 1\nproducts = 1\nstock = 1", f"orders = 1\nproducts = 1\nstock = {shop_stock_s}"
    )
    for _, _, url in shops if write_deadline_s is not None else ():
        text = text.replace(
            f'base_url = "{url}"\n', f'base_url = "{url}"\nwrite_deadline_s = {write_deadline_s}\n'
        )
    if grace_s is not None:
        text = text.replace("[daemon]\n", f"[daemon]\nshutdown_grace_s = {grace_s}\n")
    path.write_text(text)


@contextmanager
def server_dir() -> Iterator[Path]:
    """A directory for an embedded server outside pytest's tmp root: pytest keeps that root 0700 (and
    resets it when another session starts), which the server's own user could not traverse as root."""
    path = Path(tempfile.mkdtemp(prefix="ffn-sync-ops-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
