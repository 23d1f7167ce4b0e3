"""The app wiring: config + database → adapters, engine contexts and scheduled jobs.

The only place that imports ``adapters``.
"""

from daemon.wiring.build import MerchantRuntime, build_runtime

__all__ = ["MerchantRuntime", "build_runtime"]
