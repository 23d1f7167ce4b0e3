"""One module per scenario; each returns its result tables. ``SCENARIOS`` maps the CLI names to them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bench.report import Table
from bench.scenarios import (
    calls,
    catchup,
    fleet,
    instances,
    latency,
    memory,
    ratelimit,
    soak,
    throughput,
    webhooks,
)
from bench.sizes import Size

Scenario = Callable[[Size, set[str]], Awaitable[list[Table]]]

# "idle" re-reads the world the throughput scenario built, so both come from one run.
SCENARIOS: dict[str, Scenario] = {
    "throughput": throughput.run,
    "idle": throughput.run,
    "latency": latency.run,
    "ratelimit": ratelimit.run,
    "catchup": catchup.run,
    "memory": memory.run,
    "webhooks": webhooks.run,
    "fleet": fleet.run,
    "instances": instances.run,
    "calls": calls.run,
    "soak": soak.run,
}
