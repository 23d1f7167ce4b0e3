"""The Shopify adapter's memory in Postgres survives a restart: idempotency keys and waiting orders."""

from __future__ import annotations

from daemon.store import create_pool, migrate
from daemon.store.shopify_state import PgShopifyState


async def test_keys_and_waiting_orders_survive_a_new_process(pg_dsn: str) -> None:
    pool = await create_pool(pg_dsn)
    try:
        await migrate(pool)
        before = PgShopifyState(pool, "acme", "shopify-main")
        other_channel = PgShopifyState(pool, "acme", "shopify-eu")
        key = await before.idempotency_key("body-1")
        await before.set_waiting("gid://shopify/Order/1", "on hold: HIGH_RISK_OF_FRAUD")

        after = PgShopifyState(pool, "acme", "shopify-main")  # as after a restart
        assert await after.idempotency_key("body-1") == key  # a resend of the same body
        assert await after.idempotency_key("body-2") != key
        assert await other_channel.idempotency_key("body-1") != key
        assert await after.waiting_orders() == {"gid://shopify/Order/1": "on hold: HIGH_RISK_OF_FRAUD"}

        await after.settle_key("body-1")
        assert await after.idempotency_key("body-1") != key  # answered: the next send is a new request
        await after.set_waiting("gid://shopify/Order/1", None)
        assert await after.waiting_orders() == {}
        assert "acme" in repr(after) and "shopify-main" in repr(after)
    finally:
        await pool.close()
