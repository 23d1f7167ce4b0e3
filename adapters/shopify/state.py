"""What the Shopify adapter must remember between cycles and restarts.

- The ``available`` quantity last observed per inventory item at the FFN location (read, or written by
  us): the ``changeFromQuantity`` of the next write, so a sale the engine has not counted yet makes
  Shopify refuse the write instead of being overwritten.
- Idempotency keys of inventory writes: one key per exact request body, stored *before* the request is
  sent, so a resend of the same body after a lost answer carries the same key (Shopify then returns the
  first result instead of applying it twice) and a recomputed body gets a new key. Settled keys are dropped.
- Orders waiting on Shopify (a fulfillment order ON_HOLD or SCHEDULED at the FFN location): releasing a
  hold does not change the order's ``updatedAt``, so the delta pull never sees it; these orders are
  re-checked every cycle until released.

``MemoryState`` serves tests and single runs; ``daemon.store.shopify_state.PgShopifyState`` the daemon.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Protocol


class ShopifyState(Protocol):
    async def observed(self, location_id: str, items: Sequence[str]) -> dict[str, int]:
        """item id -> the available quantity last observed there (absent: never observed)."""
        ...

    async def observe(self, location_id: str, quantities: Mapping[str, int]) -> None: ...

    async def idempotency_key(self, body_hash: str) -> str:
        """The key stored for this body, or a new one stored now."""
        ...

    async def settle_key(self, body_hash: str) -> None: ...

    async def waiting_orders(self) -> dict[str, str]:
        """order id -> why it waits."""
        ...

    async def set_waiting(self, order_id: str, reason: str | None) -> None:
        """Remember (reason) or forget (None) an order waiting on Shopify."""
        ...


class MemoryState:
    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], int] = {}
        self.keys: dict[str, str] = {}
        self.waiting: dict[str, str] = {}

    async def observed(self, location_id: str, items: Sequence[str]) -> dict[str, int]:
        return {i: self.seen[(location_id, i)] for i in items if (location_id, i) in self.seen}

    async def observe(self, location_id: str, quantities: Mapping[str, int]) -> None:
        self.seen.update({(location_id, item): q for item, q in quantities.items()})

    def __repr__(self) -> str:
        return f"MemoryState(keys={len(self.keys)}, waiting={len(self.waiting)})"

    async def idempotency_key(self, body_hash: str) -> str:
        return self.keys.setdefault(body_hash, str(uuid.uuid4()))

    async def settle_key(self, body_hash: str) -> None:
        self.keys.pop(body_hash, None)

    async def waiting_orders(self) -> dict[str, str]:
        return dict(self.waiting)

    async def set_waiting(self, order_id: str, reason: str | None) -> None:
        if reason is None:
            self.waiting.pop(order_id, None)
        else:
            self.waiting[order_id] = reason
