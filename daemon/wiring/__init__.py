"""The app wiring: config + database → adapters, engine contexts and scheduled jobs.

The only part of ``daemon`` that imports ``adapters`` (``clients``, ``login``); tests/test_architecture.py
enforces it.
"""

from daemon.wiring.build import (
    MerchantRuntime,
    build_instance_runtime,
    build_runtime,
    instance_runtime_factory,
)

__all__ = ["MerchantRuntime", "build_instance_runtime", "build_runtime", "instance_runtime_factory"]
