"""The vendor sandboxes and the demo ship with a source checkout, not with the installed package.

``ffn-sync sandbox`` and ``ffn-sync demo`` load them by name at run time: from the import path when they
are importable (tests, ``python -m`` in a clone), else from the checkout this package was installed from in
editable mode (``make demo``). A wheel install has neither, and the commands say so instead of failing
with an import traceback.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

PACKAGE = "sandboxes"


class SandboxesMissing(Exception):
    """The ``sandboxes`` package is not importable: this is an installed package, not a checkout."""

    def __init__(self) -> None:
        super().__init__(
            "the vendor sandboxes and the demo are not installed: they ship with the source repository only, "
            "not with the ffn-sync package; clone the repository and run `make demo` (or "
            "`.venv/bin/ffn-sync sandbox KIND --port N`) from the clone"
        )


def import_from_checkout(module_name: str) -> ModuleType:
    """Import ``sandboxes.…`` ``module_name``; raises ``SandboxesMissing`` when the package is absent.

    A missing module *inside* the sandboxes (a broken checkout or a missing dependency) is re-raised as is:
    that is a real error, not "not installed".
    """
    if not _importable():
        checkout = Path(__file__).resolve().parents[2]
        if not (checkout / PACKAGE / "__init__.py").is_file():
            raise SandboxesMissing()
        sys.path.append(str(checkout))
        if not _importable():
            raise SandboxesMissing()
    return importlib.import_module(module_name)


def _importable() -> bool:
    try:
        importlib.import_module(PACKAGE)
    except ModuleNotFoundError as exc:
        if exc.name != PACKAGE:
            raise
        return False
    return True
