"""What one kept-alive HTTP connection costs the daemon: memory held while idle, CPU to open it, with and without TLS.

``python -m bench.connection_cost --hosts 1000 [--tls] [--rounds 3] [--ssl-buffer-kb K] [--body-kb B]``: a server process answers on N loopback
addresses (127.1.0.N, ``sandboxes.kit.hosts``; with ``--tls`` a throw-away self-signed certificate made by the
``openssl`` command); this process talks to it through a connector built as the daemon's shared one
(``daemon.http.connector``: no caps, keep-alive long enough that nothing closes meanwhile) and prints:

- RSS held per idle kept-alive connection: VmRSS after one GET to each of the N hosts (N connections left
  open) minus VmRSS before, both after a full collection and ``malloc_trim(0)`` so freed memory is not counted;
- CPU per request on a new connection (TCP connect, TLS handshake) vs on a kept-alive one: the price of
  closing idle connections between polls.

``--ssl-buffer-kb``: asyncio's TLS receive buffer (``asyncio.sslproto.SSLProtocol.max_size``, 256 KiB, allocated
and zeroed for every TLS connection) set to K KiB in this process (``daemon.heap.settle`` sets 16 KiB in the daemon);
``--body-kb``: the size of each answer (default: an empty poll's few bytes).

The server is its own process, so its memory and CPU are not in the figures. The client verifies the
certificate (its CA loaded once, as aiohttp's default context loads the system store once) but not the
host name (the certificate names no 127.1.x.y address; checking a name costs nothing per idle connection).
"""

from __future__ import annotations

import argparse
import asyncio
import asyncio.sslproto
import gc
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from daemon import heap
from sandboxes.kit.hosts import loopback_hosts
from sandboxes.world.ports import free_port

EMPTY_POLL = b'{"orders": []}'


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def settled_rss_kb() -> int:
    gc.collect()
    trim = heap.glibc_trim()
    if trim is not None:
        trim()
    return rss_kb()


def cpu_s() -> float:
    return time.process_time()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=bench.shop",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _body(kb: int) -> bytes:
    return b'{"orders": [' + b"0," * (kb * 512) + b"0]}" if kb else EMPTY_POLL


def _serve(port: int, hosts: int, cert: str | None, key: str | None, body_kb: int) -> None:
    body = _body(body_kb)

    async def answer(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/poll", answer)
    context = None
    if cert and key:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
    web.run_app(
        app, host=loopback_hosts(hosts), port=port, ssl_context=context, print=None, access_log=None,
        keepalive_timeout=3600,
    )  # fmt: skip


async def _ready(url: str, context: ssl.SSLContext | None, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            async with aiohttp.ClientSession() as session, session.get(url, ssl=context or False) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not answer within 60 s")


async def _one_each(
    session: aiohttp.ClientSession, urls: list[str], context: ssl.SSLContext | bool, body: bytes
) -> float:
    """One GET per URL, 32 at a time; the CPU seconds this process spent."""
    gate = asyncio.Semaphore(32)

    async def get(url: str) -> None:
        async with gate, session.get(url, ssl=context) as response:
            assert await response.read() == body

    started = cpu_s()
    await asyncio.gather(*(get(url) for url in urls))
    return cpu_s() - started


async def measure(hosts: int, tls: bool, rounds: int, body_kb: int) -> None:
    body = _body(body_kb)
    with tempfile.TemporaryDirectory(prefix="connection-cost-") as temp:
        cert, key = _self_signed(Path(temp)) if tls else (None, None)
        port = free_port()
        server = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
            [sys.executable, "-m", "bench.connection_cost", "--serve", str(port), "--hosts", str(hosts),
             "--body-kb", str(body_kb), *(["--cert", str(cert), "--key", str(key)] if tls else [])],
        )  # fmt: skip
        try:
            context: ssl.SSLContext | bool = False
            if cert is not None:
                context = ssl.create_default_context(cafile=str(cert))
                context.check_hostname = False
            scheme = "https" if tls else "http"
            urls = [f"{scheme}://{host}:{port}/poll" for host in loopback_hosts(hosts)]
            await _ready(urls[-1], context or None, server)
            for round_ in range(rounds):
                connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=3600)
                async with aiohttp.ClientSession(connector=connector) as session:
                    await _one_each(session, urls[:1], context, body)  # code paths and the TLS context warmed
                    before = settled_rss_kb()
                    fresh_cpu = await _one_each(session, urls, context, body)
                    held = settled_rss_kb() - before
                    reused_cpu = await _one_each(session, urls, context, body)
                    alive = sum(len(v) for v in connector._conns.values())
                buffer_kb = asyncio.sslproto.SSLProtocol.max_size // 1024
                kind = f"TLS (receive buffer {buffer_kb} KiB)" if tls else "plain HTTP"
                print(
                    f"round {round_ + 1}: {kind}, {len(body):,}-byte answers, {hosts} hosts, {alive} kept alive: "
                    f"RSS held {held / hosts:.1f} KB per idle connection ({held / 1024:.1f} MB in all); "
                    f"CPU per request on a new connection {fresh_cpu / hosts * 1000:.3f} ms, "
                    f"on a kept-alive one {reused_cpu / hosts * 1000:.3f} ms",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ssl-buffer-kb", type=int)
    parser.add_argument("--body-kb", type=int, default=0)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cert", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.hosts, args.cert, args.key, args.body_kb)
        return
    if args.ssl_buffer_kb:
        asyncio.sslproto.SSLProtocol.max_size = args.ssl_buffer_kb * 1024
    asyncio.run(measure(args.hosts, args.tls, args.rounds, args.body_kb))


if __name__ == "__main__":
    main()
