"""Secret values: resolved from ``env:NAME`` / ``file:/path``, never printed.

Every resolved secret is registered here; ``redact`` replaces registered values in any text, and
the logging sink and the HTTP error paths run everything through it.
"""

from __future__ import annotations

import threading

_MASK = "***"
_lock = threading.Lock()
_known: set[str] = set()


class Secret:
    """A string that does not show itself in repr/str/format."""

    __slots__ = ("_source", "_value")

    def __init__(self, value: str, source: str = "inline") -> None:
        self._value = value
        self._source = source
        register(value)

    def reveal(self) -> str:
        return self._value

    @property
    def source(self) -> str:
        """Where it came from (``env:NAME``), safe to print."""
        return self._source

    def __repr__(self) -> str:
        return f"Secret({self._source})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def register(value: str) -> None:
    # Very short values would mask innocent text everywhere; they are weak secrets anyway.
    if value and len(value) >= 4:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    if not _known:
        return text
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, _MASK)
    return text
