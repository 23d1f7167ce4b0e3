"""The soak debug hook: nothing without its variable; snapshots and heap stats with it."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

from daemon import memtrace


def test_off_without_the_variable() -> None:
    assert memtrace.start_from_env({}) is None
    assert not tracemalloc.is_tracing()


def test_writes_snapshots_and_stats(tmp_path: Path) -> None:
    env = {memtrace.ENV_DIR: str(tmp_path), memtrace.ENV_INTERVAL: "0.01", memtrace.ENV_FRAMES: "2"}
    stop = memtrace.start_from_env(env)
    assert stop is not None
    try:
        deadline = time.monotonic() + 10
        while not list(tmp_path.glob("snapshot-*.pickle")) or not (tmp_path / "stats.tsv").exists():
            assert time.monotonic() < deadline, "no snapshot within 10 s"
            time.sleep(0.01)
    finally:
        stop.set()
        tracemalloc.stop()
    snapshot = tracemalloc.Snapshot.load(str(sorted(tmp_path.glob("snapshot-*.pickle"))[0]))
    assert snapshot.traceback_limit == 2
    fields = (tmp_path / "stats.tsv").read_text().split("\n")[0].split("\t")
    assert len(fields) == 7  # seconds, RSS, traced, objects, malloc in use / free / mmapped
    assert float(fields[1]) > 0 and int(fields[3]) > 0 and float(fields[4]) > 0
