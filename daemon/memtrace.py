"""Debug aid for memory soaks: tracemalloc snapshots of the running daemon, off unless asked for.

``FFN_SYNC_TRACEMALLOC=<directory>`` starts tracemalloc (``FFN_SYNC_TRACEMALLOC_FRAMES`` frames, default 10)
before the runtime is built and writes ``snapshot-<n>.pickle`` every ``FFN_SYNC_TRACEMALLOC_S`` seconds
(default 300) plus a line per snapshot to ``stats.tsv`` from a daemon thread: seconds, RSS MB, traced MB, live
objects, and glibc's malloc heap (``mallinfo2``: MB in use, MB free but kept, MB in mmap blocks), which
tells a growing Python heap from a fragmented allocator. ``FFN_SYNC_TRACEMALLOC_FRAMES=0`` writes only
the stats (no tracing, no snapshots). Compare two snapshots with ``snapshot.compare_to(older,
"traceback")``. Unset, nothing starts and tracemalloc is not imported. Tracing makes the process slower and bigger:
never in production.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path

ENV_DIR = "FFN_SYNC_TRACEMALLOC"
ENV_INTERVAL = "FFN_SYNC_TRACEMALLOC_S"
ENV_FRAMES = "FFN_SYNC_TRACEMALLOC_FRAMES"


def start_from_env(env: Mapping[str, str] = os.environ) -> threading.Event | None:
    """Starts tracing and the dumping thread when asked to; set the returned event to stop the thread."""
    directory = env.get(ENV_DIR)
    if not directory:
        return None
    import tracemalloc

    frames = int(env.get(ENV_FRAMES) or 10)
    if frames > 0:
        tracemalloc.start(frames)
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    interval_s = float(env.get(ENV_INTERVAL) or 300)
    stop = threading.Event()
    threading.Thread(target=_dump, args=(target, interval_s, stop), name="memtrace", daemon=True).start()
    return stop


def _dump(target: Path, interval_s: float, stop: threading.Event) -> None:
    import gc
    import tracemalloc

    started = time.monotonic()
    index = 0
    while not stop.wait(interval_s):
        if tracemalloc.is_tracing():
            tracemalloc.take_snapshot().dump(str(target / f"snapshot-{index:04d}.pickle"))
            index += 1
        traced_mb = tracemalloc.get_traced_memory()[0] / 1e6
        heap = "\t".join(f"{mb:.1f}" for mb in _malloc_mb())
        line = f"{time.monotonic() - started:.0f}\t{_rss_mb():.1f}\t{traced_mb:.1f}\t{len(gc.get_objects())}\t{heap}\n"
        with (target / "stats.tsv").open("a") as stats:
            stats.write(line)


_MALLINFO2_FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in _MALLINFO2_FIELDS]


def _malloc_mb() -> tuple[float, float, float]:
    """(in use, free but kept, mmapped) MB of glibc's heap; zeros elsewhere."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
    except (AttributeError, OSError):
        return (0.0, 0.0, 0.0)
    return (info.uordblks / 1e6, info.fordblks / 1e6, info.hblkhd / 1e6)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0
