"""``ffn-sync demo``: the daemon working live against local sandboxes on an embedded Postgres.

The pieces are reused by the benchmark harness (``bench/``): sandbox processes, the control API client,
the catalogue and order stream, the generated merchant config, the FFN consent, and traffic accounting.
"""

from sandboxes.demo.errors import DemoError, DemoUsageError
from sandboxes.demo.orchestrator import DemoOptions, run_demo
from sandboxes.demo.summary import DemoSummary

__all__ = ["DemoError", "DemoOptions", "DemoSummary", "DemoUsageError", "run_demo"]
