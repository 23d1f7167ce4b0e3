"""Where an idle daemon's CPU goes, from a py-spy raw profile (``bench.idle_cost --py-spy FILE``).

``python -m bench.spy_shares FILE``: the share of samples by package of the innermost frame, and the
inclusive share of the components an empty cycle passes through.

Samples whose innermost frame is a socket write or the epoll wait are left out: on a shared machine
the process is often runnable but not running right after a write (the peer woken on loopback takes
the core), and py-spy counts that as a busy sample at the write. What remains tracks CPU, not wall time.
"""

from __future__ import annotations

import re
import sys
from collections import Counter

NOT_CPU = (
    "_SelectorSocketTransport.write (asyncio/selector_events.py:1057)",
    "EpollSelector.select (selectors.py:468)",
)
COMPONENTS = {
    "the cycle (run_cycle)": "run_cycle (",
    "reads (pull)": "pull (daemon/engine/pull.py",
    "HTTP client (ours + aiohttp)": "HttpClient.request (",
    "aiohttp": "aiohttp/",
    "asyncpg": "asyncpg/",
    "apscheduler (tick + dispatch)": "apscheduler/",
    "metrics (incl. /metrics scrapes)": "daemon/monitor/",
    "loguru": "loguru/",
    "rate limiter": "daemon/http/ratelimit",
    "lease fence": "daemon/fence",
    "WooCommerce OAuth1 signing": "OAuth1Signer.sign",
}


def _package(frame: str) -> str:
    match = re.search(r"\((.*?):\d+\)", frame)
    parts = (match.group(1) if match else frame).split("/")
    return "/".join(parts[:2]) if parts[0] in ("daemon", "adapters") and len(parts) > 1 else parts[0]


def main(path: str) -> None:
    by_package: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with open(path) as profile:
        for line in profile:
            stack, _, count = line.rstrip().rpartition(" ")
            frames = stack.split(";")
            if frames[-1] in NOT_CPU:
                continue
            samples = int(count)
            total += samples
            by_package[_package(frames[-1])] += samples
            for name, marker in COMPONENTS.items():
                if marker in stack:
                    inclusive[name] += samples
    print(f"{total} samples (socket writes and epoll waits left out)\n\nself time by package:")
    for name, samples in by_package.most_common(15):
        print(f"{samples / total:6.1%}  {name}")
    print("\ninclusive:")
    for name, samples in inclusive.most_common():
        print(f"{samples / total:6.1%}  {name}")


if __name__ == "__main__":
    main(sys.argv[1])
