"""``FfnClient``: the ``Fulfiller`` the engine talks to (JTL-FFN Merchant API v1)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp

from adapters.ffn.auth import FfnAuth
from adapters.ffn.errors import ffn_error_factory
from adapters.ffn.outbounds import Outbounds
from adapters.ffn.products import Products
from adapters.ffn.read import Feeds
from adapters.ffn.setup import SetupData
from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.http import HttpClient, TokenBucket
from daemon.model import FulfillerStatus, Outbound, Shipment, ShopProduct, StockLevel, Window

DEFAULT_BASE_URL = "https://ffn.api.jtl-software.com/api"
STOCK_INPUTS = ("net", "gross")
SANDBOX_BASE_URL = "https://ffn-sbx.api.jtl-software.com/api"


class FfnClient:
    """``base_url`` is the API root including ``/api`` (the spec's paths all start with ``/api/v1``)."""

    def __init__(
        self,
        base_url: str,
        *,
        ffn_merchant_id: str,
        warehouse_id: str,
        fulfiller_id: str,
        auth: FfnAuth,
        requests_per_second: float = 4.0,
        max_concurrency: int = 4,
        oversale: bool = False,
        stock_input: str = "net",
        page_size: int = 100,
        clock: Clock = SYSTEM_CLOCK,
        session: aiohttp.ClientSession | None = None,
        timeout_s: float = 30.0,
        max_attempts: int = 5,
        backoff_base_s: float = 0.5,
    ) -> None:
        self.ffn_merchant_id = ffn_merchant_id
        self.warehouse_id = warehouse_id
        self.fulfiller_id = fulfiller_id
        self.auth = auth
        limiter = TokenBucket(
            rate_per_s=requests_per_second,
            burst=max(1.0, requests_per_second),
            max_concurrency=max_concurrency,
            clock=clock,
        )
        self.http = HttpClient(
            "ffn",
            base_url,
            auth=auth,
            limiter=limiter,
            error_factory=ffn_error_factory,
            clock=clock,
            session=session,
            timeout_s=timeout_s,
            max_attempts=max_attempts,
            backoff_base_s=backoff_base_s,
        )
        self.setup = SetupData(self.http, page_size=page_size)
        self.products = Products(
            self.http, fulfiller_id=fulfiller_id, clock=clock, attempts=max_attempts, backoff_s=backoff_base_s
        )
        self.outbounds = Outbounds(
            self.http, oversale=oversale, clock=clock, attempts=max_attempts, backoff_s=backoff_base_s
        )
        if stock_input not in STOCK_INPUTS:
            raise ValueError(f"stock_input must be one of {STOCK_INPUTS}, got {stock_input!r}")
        self.feeds = Feeds(self.http, self.setup, warehouse_id=warehouse_id, stock_input=stock_input)

    def __repr__(self) -> str:
        return f"FfnClient(merchant={self.ffn_merchant_id!r}, warehouse={self.warehouse_id!r})"

    async def upsert_product(self, product: ShopProduct) -> str:
        return await self.products.upsert(product)

    async def create_outbound(self, outbound: Outbound) -> str:
        return await self.outbounds.create(outbound)

    async def get_outbound(self, outbound_id: str) -> FulfillerStatus | None:
        return await self.outbounds.get(outbound_id)

    async def update_outbound(self, outbound: Outbound) -> None:
        await self.outbounds.update(outbound)

    async def cancel_outbound(self, outbound_id: str, reason: str) -> None:
        await self.outbounds.cancel(outbound_id, reason)

    def shipping_notifications(self, window: Window) -> AsyncIterator[Shipment]:
        return self.feeds.shipping_notifications(window)

    def outbound_changes(self, window: Window) -> AsyncIterator[FulfillerStatus]:
        return self.feeds.outbound_changes(window)

    def stock_changes(self, window: Window) -> AsyncIterator[StockLevel]:
        return self.feeds.stock_changes(window)

    def stock_complete(self) -> AsyncIterator[StockLevel]:
        return self.feeds.stock_complete()

    async def carrier_for(
        self, shipping_method_id: str, tracking_number: str
    ) -> tuple[str | None, str | None]:
        return await self.setup.carrier_for(shipping_method_id, tracking_number)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.auth.aclose()
