"""The WooCommerce shop channel (REST API v3, ``{base_url}/wp-json/wc/v3``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Container, Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
from loguru import logger

from adapters.woocommerce import mapping
from adapters.woocommerce.auth import AUTH_MODES, AuthMode, ConsumerKeyAuth, OAuth1Signer, resolve_mode
from adapters.woocommerce.catalog import API, Catalog
from adapters.woocommerce.errors import decode, woocommerce_error_factory
from adapters.woocommerce.paging import all_pages, changed_pages
from adapters.woocommerce.stock import StockWriter
from adapters.woocommerce.writeback import OrderWriter, TrackingMode
from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.errors import AuthError, ChannelFatalError, ConfigError, RecordError
from daemon.http import HttpClient, RateLimiter, TokenBucket
from daemon.model import FulfillerStatus, OrderRef, Shipment, ShopOrder, ShopProduct, ShopStock, Window
from daemon.ports import MAPPING_ERRORS, ItemResult, UnreadableOrder, unreadable_reason
from daemon.secrets import Secret

# Every status: "any" is every registered one but the trash (WP_Query), so the trash is read too.
# Refunded, failed and trashed orders must be seen, or an exported one would still ship.
DEFAULT_STATUSES = ("any", "trash")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def status_queries(statuses: Sequence[str]) -> list[str]:
    """The ``status`` values to list orders with, one request each.

    WooCommerce's orders controller (``prepare_objects_query``) stops at ``any`` and replaces every
    status named with it, so ``any,trash`` lists no trash: ``any`` and the trash are two reads.
    """
    if "any" not in statuses:
        return [",".join(statuses)]
    return ["any"] + (["trash"] if "trash" in statuses else [])


class WooCommerceChannel:
    """``ShopChannel`` for one WooCommerce shop.

    Orders and products are read in windows of ``date_modified_gmt`` (``dates_are_gmt=true`` with
    naive UTC values, the only form both storage engines compare correctly). Write-back state is kept
    in order meta, so restarts and retries never duplicate a tracking number, a note or a status.
    """

    kind = "woocommerce"
    stock_cas = False  # absolute writes: the engine re-reads changed orders first

    def __init__(
        self,
        base_url: str,
        *,
        consumer_key: Secret,
        consumer_secret: Secret,
        auth: AuthMode = "auto",
        statuses: Sequence[str] = DEFAULT_STATUSES,
        ean_meta_key: str | None = None,
        tracking: TrackingMode = "auto",
        page_size: int = 100,
        status_tag: str = "ffn-cancelled",
        clock: Clock = SYSTEM_CLOCK,
        session: aiohttp.ClientSession | None = None,
        limiter: RateLimiter | None = None,
        weight_unit: Literal["kg", "g", "lbs", "oz"] | None = None,
        dimension_unit: Literal["m", "cm", "mm", "in", "yd"] | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        if auth not in AUTH_MODES:
            raise ConfigError(f"woocommerce auth must be one of {', '.join(AUTH_MODES)}, got {auth!r}")
        mode = resolve_mode(auth, base_url)
        _check_base_url(base_url, mode)
        if not 1 <= page_size <= 100:
            raise ConfigError(f"woocommerce page_size must be 1..100 (the API's maximum), got {page_size}")
        if tracking not in ("auto", "shipment-tracking", "notes"):
            raise ConfigError(
                f"woocommerce tracking must be auto, shipment-tracking or notes, got {tracking!r}"
            )
        self.base_url = base_url.rstrip("/")
        self.statuses = tuple(statuses)
        self.ean_meta_key = ean_meta_key or None
        self.page_size = page_size
        # None: read from the shop's settings once per start (products are in the shop's units).
        self.weight_unit: str | None = weight_unit
        self.dimension_unit: str | None = dimension_unit
        self.http = HttpClient(
            "woocommerce",
            f"{self.base_url}/wp-json",
            auth=(
                OAuth1Signer(consumer_key, consumer_secret, clock)
                if mode == "oauth1"
                else ConsumerKeyAuth(consumer_key, consumer_secret, mode)
            ),
            # WooCommerce itself has no rate limit; the PHP workers of the host are the bottleneck.
            limiter=limiter or TokenBucket(rate_per_s=25.0, burst=25.0, max_concurrency=4, clock=clock),
            error_factory=woocommerce_error_factory,
            timeout_s=timeout_s,
            clock=clock,
            session=session,
        )
        self.catalog = Catalog(self.http)
        self._writer = OrderWriter(self.http, self.catalog, tracking=tracking, status_tag=status_tag)
        self._stock = StockWriter(self.http, self.catalog)

    def __repr__(self) -> str:
        return f"WooCommerceChannel({self.base_url!r})"

    # pulls --------------------------------------------------------------------------------------------
    async def changed_orders(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        after, before = mapping.window_bounds(window)
        for status in status_queries(self.statuses):
            params: dict[str, Any] = {"status": status} if status else {}
            pages = changed_pages(
                self.http, f"{API}/orders", params, after=after, before=before, per_page=self.page_size
            )
            async for rows in pages:
                async for order in self._orders_of(rows):
                    yield order

    async def _orders_of(self, rows: list[dict[str, Any]]) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        await self.catalog.ensure_units(item for row in rows for item in row.get("line_items") or [])
        for row in rows:
            yield await self._order(row)

    async def _order(self, row: dict[str, Any]) -> ShopOrder | UnreadableOrder:
        try:
            return mapping.order_from_wc(row, self.catalog.virtual, await self._refunded(row))
        except MAPPING_ERRORS as exc:
            # A payload the mapping refused or did not foresee: this order is parked, the rest go on.
            number = str(row.get("number") or row.get("id") or "") or None
            try:
                updated = mapping.parse_gmt(row.get("date_modified_gmt"))
            except ValueError:
                updated = None
            lines = mapping.readable_lines(row, self.catalog.virtual)
            return UnreadableOrder.of(str(row.get("id")), number, exc, updated_at=updated, lines=lines)

    async def _refunded(self, row: dict[str, Any]) -> dict[str, int]:
        """Units refunded per line: a refund is its own record and leaves the order's lines as they
        were, so refunded units would otherwise still be shipped. Read only for orders that have one."""
        if not row.get("refunds"):
            return {}
        path = f"{API}/orders/{row['id']}/refunds"
        refunds: list[dict[str, Any]] = []
        async for page in all_pages(self.http, path, {}, per_page=self.page_size):
            refunds.extend(page)
        try:
            return mapping.refunded_quantities(refunds)
        except (TypeError, ValueError) as exc:
            raise RecordError(
                f"WooCommerce order {row.get('id')}: its refunds cannot be read: {exc}",
                upstream="woocommerce",
            ) from None

    async def changed_products(self, window: Window) -> AsyncIterator[ShopProduct]:
        await self._read_units()
        after, before = mapping.window_bounds(window)
        pages = changed_pages(
            self.http, f"{API}/products", {}, after=after, before=before, per_page=self.page_size
        )
        async for rows in pages:
            for row in rows:
                if row.get("type") == "variable":
                    async for variation in self._variations(row):
                        yield variation
                    continue
                self.catalog.learn(row)
                product = self._map_product(row)
                if product is not None:
                    yield product

    async def _variations(self, parent: dict[str, Any]) -> AsyncIterator[ShopProduct]:
        # A parent's change (its name, say) changes every variation, so all of them are read.
        path = f"{API}/products/{parent['id']}/variations"
        async for rows in all_pages(self.http, path, {}, per_page=self.page_size):
            for row in rows:
                self.catalog.learn(row, int(parent["id"]))
                product = self._map_product(row, parent)
                if product is not None:
                    yield product

    async def get_order(self, order_id: str) -> ShopOrder | UnreadableOrder | None:
        data = await self._writer.fetch_order(order_id)
        if data is None:
            return None
        await self.catalog.ensure_units(data.get("line_items") or [])
        return await self._order(data)

    async def _read_units(self) -> None:
        """``woocommerce_weight_unit`` / ``woocommerce_dimension_unit``, once: a shop in grams would
        otherwise send weights a thousand times too high."""
        if self.weight_unit is None:
            self.weight_unit = await self._unit_setting("woocommerce_weight_unit", mapping.WEIGHT_UNITS)
        if self.dimension_unit is None:
            self.dimension_unit = await self._unit_setting("woocommerce_dimension_unit", mapping.LENGTH_UNITS)

    async def _unit_setting(self, option: str, known: Container[str]) -> str:
        path = f"{API}/settings/products/{option}"
        try:
            response = await self.http.request("GET", path)
        except AuthError as exc:
            # Orders and products may be readable while the settings are not: they need manage_woocommerce.
            raise AuthError(
                f"WooCommerce refused GET {path}, which ffn-sync reads once per start to convert weights and "
                "dimensions to kg/m: the API key's user needs the manage_woocommerce capability (Shop manager "
                f"or Administrator). {exc.message}",
                upstream="woocommerce",
                status=exc.status,
                vendor_code=exc.vendor_code,
            ) from None
        value = decode(response, dict, f"GET {path}").get("value")
        if value not in known:
            raise ChannelFatalError(
                f"WooCommerce setting {option} is {value!r}, which ffn-sync cannot convert; products are not "
                "sent until it is one of WooCommerce's own units",
                upstream="woocommerce",
            )
        logger.info(f"WooCommerce {self.base_url}: {option} = {value}")
        return str(value)

    def _map_product(self, row: dict[str, Any], parent: dict[str, Any] | None = None) -> ShopProduct | None:
        try:
            product = mapping.product_from_wc(
                row,
                parent,
                ean_meta_key=self.ean_meta_key,
                weight_unit=self.weight_unit or "kg",
                dimension_unit=self.dimension_unit or "cm",
            )
        except MAPPING_ERRORS as exc:
            owner = f" of product {parent.get('id')}" if parent is not None else ""
            logger.error(
                f"woocommerce product {row.get('id')}{owner} sku={row.get('sku')!r} left out: "
                f"{unreadable_reason(exc)}"
            )
            return None
        if product is None and not row.get("virtual") and not str(row.get("sku") or "").strip():
            owner = f" of product {parent.get('id')}" if parent is not None else ""
            logger.warning(
                f"WooCommerce product {row.get('id')}{owner} has no SKU and cannot be synced; "
                "give it a SKU in wp-admin"
            )
        return product

    # write-back ------------------------------------------------------------------------------------
    async def apply_shipment(self, order: OrderRef, shipment: Shipment) -> None:
        await self._writer.apply_shipment(order, shipment)

    async def apply_order_status(
        self, order: OrderRef, status: FulfillerStatus, *, cancel_in_shop: bool
    ) -> None:
        await self._writer.apply_order_status(order, status, cancel_in_shop=cancel_in_shop)

    async def set_stock(self, levels: Sequence[ShopStock]) -> list[ItemResult]:
        return await self._stock.set_stock(levels)

    async def aclose(self) -> None:
        await self.http.aclose()


def _check_base_url(base_url: str, mode: str) -> None:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"woocommerce base_url must be an http(s) URL of the shop, got {base_url!r}")
    if parts.scheme == "http" and mode != "oauth1" and parts.hostname not in _LOOPBACK:
        # The secret itself would cross the network in clear, and WooCommerce refuses it there anyway.
        raise ConfigError(
            f"woocommerce auth {mode!r} sends the consumer secret itself: use an https:// base_url, or "
            f"auth = 'oauth1' (signed requests, what WooCommerce expects over http://; got {base_url!r})"
        )
