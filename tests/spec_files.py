"""The vendor documents in the repository's top-level specs/ (see specs/README.md for their provenance)."""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

SPECS_DIR = Path(__file__).resolve().parents[1] / "specs"


def spec_path(relative: str) -> Path:
    path = SPECS_DIR / relative
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: vendored spec missing; specs/ is part of the repository (git status?)"
        )
    return path


@cache
def spec_bytes(relative: str) -> bytes:
    """The file's content, decompressed when it is a .gz; read once per test session."""
    raw = spec_path(relative).read_bytes()
    return gzip.decompress(raw) if relative.endswith(".gz") else raw
