"""``ShopChannel`` for Shopware 6 (6.6 and 6.7) through the Admin API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
from loguru import logger

from adapters.shopware import queries, writeback
from adapters.shopware.auth import IntegrationAuth
from adapters.shopware.errors import shopware_error_factory
from adapters.shopware.mapping import (
    DEFAULT_CURRENCY_ID,
    is_sellable,
    map_order,
    map_product,
    parse_time,
    readable_lines,
)
from adapters.shopware.stock import StockWriter
from adapters.shopware.transport import JSON_API_OFF, ShopwareApi
from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.errors import RecordError
from daemon.http import HttpClient, TokenBucket
from daemon.model import FulfillerStatus, OrderRef, Shipment, ShopOrder, ShopProduct, ShopStock, Window
from daemon.ports import MAPPING_ERRORS, ItemResult, UnreadableOrder, unreadable_reason
from daemon.secrets import Secret

UPSTREAM = "shopware"


class ShopwareChannel:
    kind = "shopware"
    stock_cas = False  # absolute writes: the engine re-reads changed orders first

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str,
        client_secret: Secret,
        page_size: int = 100,
        status_tag: str = "ffn-cancelled",
        notify_customer: bool = True,
        clock: Clock = SYSTEM_CLOCK,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not 1 <= page_size <= 500:
            raise ValueError(f"page_size must be between 1 and 500, got {page_size}")
        root = base_url.rstrip("/")
        api_base = root if root.endswith("/api") else f"{root}/api"
        common: dict[str, Any] = {
            "error_factory": shopware_error_factory,
            "clock": clock,
            "default_headers": JSON_API_OFF,
            "session": session,
        }
        self._token_http = HttpClient(UPSTREAM, api_base, **common)
        self.auth = IntegrationAuth(self._token_http, client_id, client_secret, clock)
        # Self-hosted shops have no general limit; a small concurrency keeps a shared host happy.
        limiter = TokenBucket(rate_per_s=50.0, burst=50.0, max_concurrency=4, clock=clock)
        self.http = HttpClient(UPSTREAM, api_base, auth=self.auth, limiter=limiter, **common)
        self.api = ShopwareApi(self.http)
        self.page_size = page_size
        self.status_tag = status_tag
        self.notify_customer = notify_customer
        self.stock = StockWriter(self.api, batch_size=page_size)
        self._tag_id: str | None = None
        self._currency: str | None = None

    def __repr__(self) -> str:
        return f"ShopwareChannel({self.http.base_url!r})"

    async def changed_orders(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        after: int | None = None
        while True:
            page = await self.api.search(
                "order", queries.changed_orders(window, after=after, limit=self.page_size)
            )
            for raw in page:
                yield _order(raw)
            if len(page) < self.page_size:
                return
            after = _last_auto_increment(page, "order")

    async def changed_products(self, window: Window) -> AsyncIterator[ShopProduct]:
        currency = await self._default_currency()
        after: int | None = None
        while True:
            page = await self.api.search(
                "product", queries.changed_products(window, after=after, limit=self.page_size), inherit=True
            )
            seen = {str(raw.get("id")) for raw in page}
            for raw in page:
                if is_sellable(raw):
                    if (product := self._product(raw, currency)) is not None:
                        yield product
            parents = [str(raw["id"]) for raw in page if (raw.get("childCount") or 0) and raw.get("id")]
            if parents:
                async for child in self._children(parents, seen, currency):
                    yield child
            if len(page) < self.page_size:
                return
            after = _last_auto_increment(page, "product")

    async def _children(
        self, parents: list[str], seen: set[str], currency: str | None
    ) -> AsyncIterator[ShopProduct]:
        after: int | None = None
        while True:
            page = await self.api.search(
                "product", queries.children_of(parents, after=after, limit=self.page_size), inherit=True
            )
            for raw in page:
                if str(raw.get("id")) not in seen and is_sellable(raw):
                    seen.add(str(raw.get("id")))
                    if (product := self._product(raw, currency)) is not None:
                        yield product
            if len(page) < self.page_size:
                return
            after = _last_auto_increment(page, "product")

    def _product(self, raw: dict[str, Any], currency: str | None) -> ShopProduct | None:
        try:
            product = map_product(raw, currency)
        except MAPPING_ERRORS as exc:
            number = raw.get("productNumber")
            logger.error(
                f"shopware product {raw.get('id')} sku={number!r} left out: {unreadable_reason(exc)}"
            )
            return None
        self.stock.remember(product.sku, product.external_id)
        return product

    async def get_order(self, order_id: str) -> ShopOrder | UnreadableOrder | None:
        found = await self.api.search("order", queries.one_order(order_id))
        return _order(found[0]) if found else None

    async def apply_shipment(self, order: OrderRef, shipment: Shipment) -> None:
        await writeback.apply_shipment(self.api, order, shipment, send_mail=self.notify_customer)

    async def apply_order_status(
        self, order: OrderRef, status: FulfillerStatus, *, cancel_in_shop: bool
    ) -> None:
        if status.status not in writeback.CANCEL_STATUSES:
            return
        await writeback.apply_order_status(
            self.api,
            order,
            status,
            cancel_in_shop=cancel_in_shop,
            tag_id=await self._status_tag_id(),
            tag_name=self.status_tag,
            send_mail=self.notify_customer,
        )

    async def set_stock(self, levels: Sequence[ShopStock]) -> list[ItemResult]:
        return await self.stock.set_stock(levels)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self._token_http.aclose()

    async def _status_tag_id(self) -> str:
        if self._tag_id is None:
            found = await self.api.search("tag", queries.tag_by_name(self.status_tag))
            if found:
                self._tag_id = str(found[0]["id"])
            else:
                created = await self.api.create("tag", {"id": uuid.uuid4().hex, "name": self.status_tag})
                self._tag_id = str(created.get("id"))
                logger.info(f"shopware tag {self.status_tag!r} created")
        return self._tag_id

    async def _default_currency(self) -> str | None:
        if self._currency is None:
            found = await self.api.search("currency", queries.currency(DEFAULT_CURRENCY_ID))
            self._currency = str(found[0].get("isoCode")) if found else ""
        return self._currency or None


def _order(raw: dict[str, Any]) -> ShopOrder | UnreadableOrder:
    try:
        return map_order(raw)
    except MAPPING_ERRORS as exc:
        # A payload the mapping refused or did not foresee: this order is parked, the rest go on.
        number = str(raw.get("orderNumber") or "") or None
        updated = parse_time(raw.get("updatedAt")) or parse_time(raw.get("createdAt"))
        return UnreadableOrder.of(
            str(raw.get("id")), number, exc, updated_at=updated, lines=readable_lines(raw)
        )


def _last_auto_increment(page: list[dict[str, Any]], entity: str) -> int:
    value = page[-1].get("autoIncrement")
    if not isinstance(value, int):
        raise RecordError(f"{entity} search answer has no autoIncrement; cannot page on")
    return value
