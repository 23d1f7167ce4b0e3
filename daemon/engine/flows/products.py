"""Products: the product-master channel → FFN articles, keeping the SKU ⇄ jfsku map."""

from __future__ import annotations

from loguru import logger

from daemon.engine.codec import content_hash, from_payload, to_payload
from daemon.engine.context import MerchantContext
from daemon.engine.cycle import CycleCounts
from daemon.engine.outbound_builder import REASON_UNKNOWN_SKU
from daemon.engine.pull import pull_window
from daemon.engine.push import drain
from daemon.engine.settings import ChannelSettings
from daemon.model import ShopProduct
from daemon.store.skus import remember
from daemon.store.snapshot import ENTITY_PRODUCT, Claimed, Pulled


def product_row(product: ShopProduct, channel: str) -> tuple[str, Pulled]:
    payload = to_payload(product)
    return channel, Pulled(product.sku, payload, content_hash(payload), product.sku, None)


async def run(ctx: MerchantContext, channel: ChannelSettings, counts: CycleCounts) -> None:
    shop = ctx.channels[channel.name]
    await pull_window(
        ctx,
        channel=channel.name,
        flow="products",
        entity=ENTITY_PRODUCT,
        settings=channel.cursor,
        source=shop.changed_products,
        to_rows=lambda product: [product_row(product, channel.name)],
        counts=counts,
    )
    learnt: list[int] = []

    async def handle(item: Claimed) -> str:
        product = from_payload(ShopProduct, item.payload)
        jfsku = await ctx.fulfiller.upsert_product(product)
        learnt.append(await remember(ctx.pool, ctx.merchant_id, [(product.sku, jfsku)]))
        await ctx.snapshot.done(item, now=ctx.clock.now(), remote_id=jfsku)
        return "pushed"

    await drain(ctx, channels=[channel.name], entity=ENTITY_PRODUCT, handler=handle, counts=counts)
    if any(learnt):
        # Orders waiting for an unknown SKU get another chance now that new products exist.
        requeued = await ctx.snapshot.requeue(now=ctx.clock.now(), reason_code=REASON_UNKNOWN_SKU)
        if requeued:
            logger.info("requeued {} orders that were waiting for new products", requeued)
