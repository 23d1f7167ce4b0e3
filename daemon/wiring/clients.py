"""Config → adapter clients. Adapter modules are imported here only, per kind, when needed."""

from __future__ import annotations

import asyncpg

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.config import MerchantConfig
from daemon.config.channels import ShopChannelConfig
from daemon.ports import Fulfiller, ShopChannel


def build_fulfiller(merchant: MerchantConfig, pool: asyncpg.Pool, clock: Clock = SYSTEM_CLOCK) -> Fulfiller:
    from adapters.ffn import FfnAuth, FfnClient
    from daemon.store.tokens import PgTokenStore

    ffn = merchant.ffn
    auth = FfnAuth(
        ffn.token_url,
        client_id=ffn.client_id,
        client_secret=ffn.client_secret,
        store=PgTokenStore(pool, merchant.id),
        clock=clock,
    )
    return FfnClient(
        ffn.base_url,
        ffn_merchant_id=merchant.ffn_merchant_id,
        warehouse_id=merchant.warehouse_id,
        fulfiller_id=merchant.fulfiller_id,
        auth=auth,
        requests_per_second=ffn.requests_per_second,
        max_concurrency=ffn.max_concurrency,
        oversale=ffn.oversale,
        stock_input=ffn.stock_level,
        clock=clock,
    )


def build_channel(
    channel: ShopChannelConfig,
    clock: Clock = SYSTEM_CLOCK,
    *,
    pool: asyncpg.Pool | None = None,
    merchant_id: str | None = None,
) -> ShopChannel:
    """``pool`` and ``merchant_id`` give adapters that remember state between runs (Shopify) their
    tables; without them (``ffn-sync check``) that state lives in memory."""
    if channel.kind == "shopify":
        from adapters.shopify import ShopifyChannel
        from daemon.store.shopify_state import PgShopifyState

        creds = channel.credentials
        return ShopifyChannel(
            channel.base_url,
            access_token=creds.access_token,
            api_version=creds.api_version,
            location_id=creds.location_id,
            notify_customer=channel.fulfilment.notify_customer,
            status_tag=channel.status.tag,
            include_test_orders=channel.include_test_orders,
            bulk_read_min_orders=channel.bulk_read_min_orders,
            state=PgShopifyState(pool, merchant_id, channel.name)
            if pool is not None and merchant_id is not None
            else None,
            clock=clock,
        )
    if channel.kind == "shopware":
        from adapters.shopware import ShopwareChannel

        sw = channel.credentials
        return ShopwareChannel(
            channel.base_url,
            client_id=sw.client_id,
            client_secret=sw.client_secret,
            status_tag=channel.status.tag,
            notify_customer=channel.fulfilment.notify_customer,
            clock=clock,
        )
    from adapters.woocommerce import WooCommerceChannel

    wc = channel.credentials
    return WooCommerceChannel(
        channel.base_url,
        consumer_key=wc.consumer_key,
        consumer_secret=wc.consumer_secret,
        auth=wc.auth,
        status_tag=channel.status.tag,
        clock=clock,
    )
