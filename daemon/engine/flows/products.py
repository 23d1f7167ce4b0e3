"""Products: the product-master channel → FFN articles, keeping the SKU ⇄ jfsku map."""

from __future__ import annotations

from collections.abc import AsyncIterator

from loguru import logger

from daemon.engine.codec import content_hash, from_payload, to_payload
from daemon.engine.context import MerchantContext
from daemon.engine.cycle import CycleCounts, sync
from daemon.engine.flow import PUSHED, Cycle, Flow, Scope
from daemon.engine.outbound_builder import REASON_UNKNOWN_SKU
from daemon.engine.settings import ChannelSettings
from daemon.model import ShopProduct, Window
from daemon.store.skus import remember
from daemon.store.snapshot import ENTITY_PRODUCT, Claimed, Pulled


def read_products(cycle: Cycle, window: Window) -> AsyncIterator[ShopProduct]:
    return cycle.ctx.channels[cycle.shop.name].changed_products(window)


def product_rows(cycle: Cycle, product: ShopProduct) -> list[tuple[str, Pulled]]:
    payload = to_payload(product)
    return [(cycle.shop.name, Pulled(product.sku, payload, content_hash(payload), product.sku, None))]


async def push_product(cycle: Cycle, item: Claimed) -> str:
    ctx = cycle.ctx
    product = from_payload(ShopProduct, item.payload)
    jfsku = await ctx.fulfiller.upsert_product(product)
    cycle.learnt += await remember(ctx.pool, ctx.merchant_id, [(product.sku, jfsku)])
    await ctx.snapshot.done(item, now=ctx.clock.now(), remote_id=jfsku)
    return PUSHED


async def requeue_waiting_orders(cycle: Cycle) -> None:
    """Orders waiting for an unknown SKU get another chance once new products exist."""
    if not cycle.learnt:
        return
    requeued = await cycle.ctx.snapshot.requeue(now=cycle.ctx.clock.now(), reason_code=REASON_UNKNOWN_SKU)
    if requeued:
        logger.info("requeued {} orders that were waiting for new products", requeued)


PRODUCTS = Flow(
    name="products",
    scope=Scope.CHANNEL,
    entity=ENTITY_PRODUCT,
    cursor=True,
    source=read_products,
    rows=product_rows,
    handler=push_product,
    after_push=requeue_waiting_orders,
    master_only=True,
)


async def run(ctx: MerchantContext, channel: ChannelSettings, counts: CycleCounts) -> None:
    await sync(ctx, PRODUCTS, channel, counts)
