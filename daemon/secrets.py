"""Secret values: resolved from ``env:NAME`` / ``file:/path``, never printed.

Every resolved secret is registered here; ``redact`` replaces registered values in any text, and
the logging sink and the HTTP error paths run everything through it.

Two kinds of values live in the registry:
- configured secrets (``Secret``, static keys) stay for the life of the process;
- rotating credentials (access and refresh tokens) live in a ``SecretSlot``: setting a new value
  retires the previous one, which is still masked for ``GRACE_S`` (a request or log line in flight
  may carry it) and then forgotten. A slot that is garbage collected retires its value the same way.
  So a fleet refreshing tokens all day keeps a bounded registry.

``redact`` costs O(text), not O(secrets): values of ``LONG`` characters or more are indexed by their
first ``LONG - GRAM + 1`` substrings of ``GRAM`` characters; any occurrence of such a value in a text
contains one of those substrings at a position that is a multiple of ``STRIDE``, so sampling the
text every ``STRIDE`` characters finds every candidate. The few shorter values are searched directly.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Hashable

_MASK = "***"
# Very short values would mask innocent text everywhere; they are weak secrets anyway.
MIN_LENGTH = 4
GRAM = 8
LONG = 16
STRIDE = LONG - GRAM + 1
GRACE_S = 900.0
# A slot rotating faster than the grace period (a burst of 401s) keeps at most this many old values.
MAX_RETIRED_PER_SLOT = 4
# Below this many values a plain scan beats sampling the text (bench/redaction.py).
_SCAN_BELOW = 12


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


class Registry:
    """Values to mask, with reference counts (one value may be configured and current in a slot)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, grace_s: float = GRACE_S) -> None:
        self._clock = clock
        self._grace_s = grace_s
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._grams: dict[str, set[str]] = {}
        self._short: tuple[str, ...] = ()
        self._all: tuple[str, ...] = ()  # longest first, for small registries
        self._permanent: set[str] = set()
        self._current: dict[Hashable, str] = {}
        self._retired: dict[Hashable, deque[tuple[float, str]]] = {}
        self._next_expiry = float("inf")

    def __len__(self) -> int:
        return len(self._counts)

    def register(self, value: str) -> None:
        if len(value) < MIN_LENGTH:
            return
        with self._lock:
            if value not in self._permanent:
                self._permanent.add(value)
                self._add(value)

    def set_current(self, owner: Hashable, value: str) -> None:
        """``value`` becomes ``owner``'s current one; the previous one is retired."""
        with self._lock:
            previous = self._current.pop(owner, None)
            if previous == value:
                self._current[owner] = value
                return
            if len(value) >= MIN_LENGTH:
                self._current[owner] = value
                self._add(value)
            if previous is not None:
                self._retire(owner, previous)

    def forget(self, owner: Hashable) -> None:
        """The owner is gone: its current value retires (masked for the grace period)."""
        with self._lock:
            previous = self._current.pop(owner, None)
            if previous is not None:
                self._retire(owner, previous)

    def redact(self, text: str) -> str:
        if not self._counts:
            return text
        with self._lock:
            if self._clock() >= self._next_expiry:
                self._expire()
            if len(self._counts) < _SCAN_BELOW:
                found = [value for value in self._all if value in text]
            else:
                found = [value for value in self._short if value in text]
                grams = self._grams
                for start in range(0, len(text) - GRAM + 1, STRIDE):
                    candidates = grams.get(text[start : start + GRAM])
                    if candidates:
                        found.extend(value for value in candidates if value in text)
        if not found:
            return text
        for value in sorted(set(found), key=len, reverse=True):
            text = text.replace(value, _MASK)
        return text

    def _retire(self, owner: Hashable, value: str) -> None:
        retired = self._retired.setdefault(owner, deque())
        until = self._clock() + self._grace_s
        retired.append((until, value))
        self._next_expiry = min(self._next_expiry, until)
        while len(retired) > MAX_RETIRED_PER_SLOT:
            self._remove(retired.popleft()[1])

    def _expire(self) -> None:
        now = self._clock()
        upcoming = float("inf")
        for owner, retired in list(self._retired.items()):
            while retired and retired[0][0] <= now:
                self._remove(retired.popleft()[1])
            if retired:
                upcoming = min(upcoming, retired[0][0])
            else:
                del self._retired[owner]
        self._next_expiry = upcoming

    def _add(self, value: str) -> None:
        count = self._counts.get(value, 0)
        self._counts[value] = count + 1
        if count:
            return
        if len(value) >= LONG:
            for offset in range(STRIDE):
                self._grams.setdefault(value[offset : offset + GRAM], set()).add(value)
        else:
            self._short = (*self._short, value)
        self._reorder()

    def _remove(self, value: str) -> None:
        count = self._counts.get(value, 0)
        if count > 1:
            self._counts[value] = count - 1
            return
        self._counts.pop(value, None)
        if len(value) >= LONG:
            for offset in range(STRIDE):
                gram = value[offset : offset + GRAM]
                holders = self._grams.get(gram)
                if holders is not None:
                    holders.discard(value)
                    if not holders:
                        del self._grams[gram]
        else:
            self._short = tuple(v for v in self._short if v != value)
        self._reorder()

    def _reorder(self) -> None:
        self._all = (
            tuple(sorted(self._counts, key=len, reverse=True)) if len(self._counts) < _SCAN_BELOW else ()
        )


_registry = Registry()
_slot_ids = itertools.count()


class SecretSlot:
    """One rotating credential (an access token, a refresh token) of one client."""

    __slots__ = ("__weakref__", "_key", "_registry")

    def __init__(self, name: str, registry: Registry | None = None) -> None:
        self._registry = _registry if registry is None else registry
        self._key = (name, next(_slot_ids))
        weakref.finalize(self, self._registry.forget, self._key)

    def __repr__(self) -> str:
        return f"SecretSlot({self._key[0]!r})"

    def set(self, value: str) -> None:
        self._registry.set_current(self._key, value)


def register(value: str) -> None:
    """Mask ``value`` for the life of the process (configured secrets; use a SecretSlot for tokens)."""
    _registry.register(value)


def redact(text: str) -> str:
    return _registry.redact(text)


def registry_size() -> int:
    return len(_registry)
