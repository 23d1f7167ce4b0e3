"""``ffn-sync demo``: the daemon working live against local sandboxes on an embedded Postgres.

The world it plays in (sandbox processes, embedded Postgres, FFN consent, merchant config, catalogue and
order stream) is built by ``sandboxes.world``, which the benchmark and the end-to-end tests share.
"""

from sandboxes.demo.orchestrator import DemoOptions, run_demo
from sandboxes.demo.summary import DemoSummary
from sandboxes.world.errors import WorldError as DemoError
from sandboxes.world.errors import WorldUsageError as DemoUsageError

__all__ = ["DemoError", "DemoOptions", "DemoSummary", "DemoUsageError", "run_demo"]
