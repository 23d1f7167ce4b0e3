"""Soak: a small fleet idles for ``BENCH_SOAK_S`` seconds with tokens that live ``BENCH_SOAK_TOKEN_S``.

Every FFN access token and every Shopware token expires after ``BENCH_SOAK_TOKEN_S`` (default 90 s;
production: 30 min and 10 min), and both clients renew 60 s before expiry, so the daemon refreshes every
token every 30 s: what a day of refreshes would leave behind (the redaction registry, clients, sessions)
shows in minutes. Sandboxes run in this process (the Shopware token
lifetime is a knob of its app); the daemon is its own process, measured from outside: its RSS and the
``ffn_sync_redaction_values`` gauge sampled ten times after a warm-up, and the FFN refreshes granted
meanwhile (from the sandbox). Flat means the second half of the samples grows no more than noise.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import time

from bench import promtext
from bench.daemon_proc import DaemonProcess
from bench.report import Table, verdict
from bench.scenarios.common import bench_stage
from bench.scenarios.fleet import SCALE, _rss_mb, _timing, _wait_started
from bench.sizes import Size
from sandboxes.world.fleet import stage_fleet
from sandboxes.world.stage import Stage, staged

# merchants, soak seconds
PLAN = {"tiny": (3, 60.0), "small": (20, 600.0), "full": (100, 3600.0)}
WARMUP_S = 30.0
SAMPLES = 10
REDACTION = "ffn_sync_redaction_values"
RSS_NOISE_MB = 5.0  # allocator and GC jitter between two samples of an idle daemon


def _settings(size: Size) -> tuple[int, float, float]:
    merchants, soak_s = PLAN[size.name]
    env = os.environ
    return (
        int(env.get("BENCH_SOAK_MERCHANTS") or merchants),
        float(env.get("BENCH_SOAK_S") or soak_s),
        float(env.get("BENCH_SOAK_TOKEN_S") or 90.0),
    )


async def run(size: Size, wanted: set[str]) -> list[Table]:
    n, soak_s, token_s = _settings(size)
    options = dataclasses.replace(
        bench_stage(None, _timing()),
        metrics=True,
        sandboxes_in_process=True,
        knobs={"ffn": {"access_token_ttl_s": token_s}, "shopware": {"token_ttl_s": int(token_s)}},
    )
    async with staged(options) as stage:
        fleet = await stage_fleet(stage, n)
        stage = dataclasses.replace(stage, config_path=fleet.directory, env={**stage.env, **fleet.env})
        return [await _soak(stage, n, soak_s, token_s)]


async def _soak(stage: Stage, n: int, soak_s: float, token_s: float) -> Table:
    daemon = DaemonProcess(stage, "run", "soak")
    pid = daemon.process.pid
    samples: list[tuple[float, float, float]] = []  # (seconds into the soak, RSS MB, redaction values)
    try:
        await _wait_started(daemon, timeout_s=60.0 + n)
        await asyncio.sleep(WARMUP_S)
        refreshes_0 = (await stage.ffn.get("oauth"))["refreshes"]
        started = time.monotonic()
        for index in range(SAMPLES + 1):
            if index:
                await asyncio.sleep(soak_s / SAMPLES)
            text = await _metrics(stage)
            samples.append((time.monotonic() - started, _rss_mb(pid), promtext.total(text, REDACTION)))
        refreshes = (await stage.ffn.get("oauth"))["refreshes"] - refreshes_0
        lines = sum(1 for _ in daemon.log_path.open("rb"))
    finally:
        cost = await daemon.finish(stop=True)
    rss = [s[1] for s in samples]
    values = [s[2] for s in samples]
    half = len(samples) // 2
    rss_growth = max(rss[half:]) - rss[half]
    values_growth = max(values[half:]) - values[half]
    table = Table(
        "soak",
        f"{n} merchants × 3 shops idle for {soak_s:.0f} s after {WARMUP_S:.0f} s, FFN and Shopware tokens living "
        f"{token_s:.0f} s (production: 1800 s and 600 s); production intervals ÷ {SCALE:g}.",
    )
    table.add(
        "FFN token refreshes during the soak",
        refreshes,
        f"one per merchant every {max(1.0, token_s - 60):.0f} s (renewed 60 s before expiry)",
    )
    table.add("RSS first / last / peak (MB)", f"{rss[0]:.0f} / {rss[-1]:.0f} / {max(rss):.0f}", "≤ 400")
    table.add(
        "RSS growth over the second half (MB)",
        rss_growth,
        f"≤ {RSS_NOISE_MB:.0f} (flat): {verdict(rss_growth <= RSS_NOISE_MB)}",
    )
    table.add(
        "redaction values first / last / peak", f"{values[0]:.0f} / {values[-1]:.0f} / {max(values):.0f}", ""
    )
    table.add(
        "redaction values growth over the second half",
        values_growth,
        f"0 (flat): {verdict(values_growth <= 0)}",
    )
    table.add("RSS samples (MB)", " ".join(f"{r:.0f}" for r in rss), "")
    table.add("log lines, whole run", lines, "")
    table.add("daemon CPU s / peak RSS (MB), whole run", f"{cost.cpu_s:.1f} / {cost.peak_rss_mb:.0f}", "")
    return table


async def _metrics(stage: Stage) -> str:
    async with stage.session.get(f"http://127.0.0.1:{stage.metrics_port}/metrics") as response:
        text = await response.text()
    if not re.search(rf"^{REDACTION} ", text, re.M):
        raise RuntimeError(f"/metrics has no {REDACTION}")
    return text
