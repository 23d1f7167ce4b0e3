"""One sandbox shop: its store, world, tokens and the transition history, reset as a whole."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from daemon.clock import Clock
from sandboxes.kit.webhooks import Deliveries
from sandboxes.shopware.store import Row, Store
from sandboxes.shopware.tokens import TokenIssuer
from sandboxes.shopware.world import World

FULL_VERSIONS = {"6.6": "6.6.10.13", "6.7": "6.7.9.1"}


@dataclass
class Shop:
    version: str  # full version, e.g. 6.7.9.1
    clock: Clock
    tokens: TokenIssuer
    store: Store = field(init=False)
    world: World = field(init=False)
    history: list[dict[str, Any]] = field(default_factory=list)
    # Kept across resets: the webhook deliveries listen to every world this shop gets.
    on_event: Callable[[str, Row, list[str] | None], None] | None = None
    deliveries: Deliveries | None = None  # the webhook outbox (``GET /_sandbox/webhooks``)

    def __post_init__(self) -> None:
        self.reset()

    @property
    def is_67(self) -> bool:
        return self.store.is_67

    def reset(self) -> None:
        self.store = Store(self.version)
        self.world = World(self.store, self.clock, self.version, on_event=self.on_event)
        self.world.install_reference_data()
        self.history.clear()
        self.tokens.expire_all()


SHOP_KEY: web.AppKey[Shop] = web.AppKey("shopware_shop", Shop)
