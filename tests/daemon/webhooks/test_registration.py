"""Registration in the background: idempotent passes, what changed logged at INFO, failures at WARNING and
recorded, a changed public URL cleaned up, and the generated credentials (removal of channels no longer
configured: test_leftovers)."""

from __future__ import annotations

from typing import Any

import asyncpg

from daemon.monitor.metrics import SyncMetrics
from daemon.store.webhooks import channel_credential, registrations
from daemon.webhooks.registration import Registrar, Target
from daemon.webhooks.types import WebhookCredentials
from tests.daemon.webhooks.fake import SECRET, TOKEN, FakeWebhooks

PREFIX = "https://sync.example.com/webhooks/acme/shop"


def target(
    support: FakeWebhooks, topics: tuple[str, ...] = ("orders/create", "orders/updated"), **kw: Any
) -> Target:
    args: dict[str, Any] = {
        "merchant": "acme",
        "channel": "shop",
        "kind": "fake",
        "support": support,
        "credentials": WebhookCredentials(secrets=(SECRET,)),
        "topics": topics,
        "address_prefix": PREFIX,
        **kw,
    }
    return Target(**args)


def infos(records: list[Any]) -> list[str]:
    return [r["message"] for r in records if r["level"].name == "INFO"]


async def test_a_pass_registers_logs_what_changed_and_a_second_changes_nothing(
    pool: asyncpg.Pool, records: list[Any]
) -> None:
    support = FakeWebhooks()
    metrics = SyncMetrics()
    registrar = Registrar(pool, metrics=metrics)
    assert await registrar.register_once(target(support))
    assert infos(records) == ["webhooks of acme/shop: created orders/create, orders/updated"]
    assert await registrar.register_once(target(support))
    assert len(infos(records)) == 1
    (row,) = await registrations(pool)
    assert (row.state, row.topics, row.last_error) == (
        "registered",
        ("orders/create", "orders/updated"),
        None,
    )
    assert {s["topic"] for s in row.subscriptions} == {"orders/create", "orders/updated"}
    assert all("address" not in s for s in row.subscriptions)
    assert (
        metrics.registry.get_sample_value(
            "ffn_sync_webhook_registered", {"merchant": "acme", "channel": "shop"}
        )
        == 1
    )


async def test_a_shop_that_disabled_ours_gets_them_re_enabled(pool: asyncpg.Pool, records: list[Any]) -> None:
    support = FakeWebhooks()
    registrar = Registrar(pool, metrics=SyncMetrics())
    await registrar.register_once(target(support))
    sub = support.subscriptions["orders/create"]
    support.subscriptions["orders/create"] = type(sub)(sub.topic, sub.address, sub.remote_id, False)
    await registrar.register_once(target(support))
    assert infos(records)[-1] == "webhooks of acme/shop: re-enabled orders/create"


async def test_a_failure_is_a_warning_recorded_without_secrets(
    pool: asyncpg.Pool, records: list[Any]
) -> None:
    support = FakeWebhooks(failing=RuntimeError(f"shop said no to {SECRET.reveal()}"))
    registrar = Registrar(pool, metrics=SyncMetrics())
    assert not await registrar.register_once(target(support))
    (warning,) = [r["message"] for r in records if r["level"].name == "WARNING"]
    assert "registration failed" in warning and "retried" in warning
    (row,) = await registrations(pool)
    assert row.state == "failed" and row.last_error is not None
    assert SECRET.reveal() not in row.last_error


async def test_a_changed_public_url_removes_ours_under_the_old_one_first(pool: asyncpg.Pool) -> None:
    registrar = Registrar(pool, metrics=SyncMetrics())
    support = FakeWebhooks()
    await registrar.register_once(target(support))
    moved = "https://new.example.com/webhooks/acme/shop"
    await registrar.register_once(target(support, address_prefix=moved))
    assert {s.address for s in support.subscriptions.values()} == {moved}
    assert support.calls[1] == (PREFIX, (), PREFIX)


async def test_shopware_token_travels_in_the_address_only(pool: asyncpg.Pool) -> None:
    support = FakeWebhooks()
    wanted = target(support, credentials=WebhookCredentials(token=TOKEN))
    assert wanted.address == f"{PREFIX}/{TOKEN.reveal()}"
    assert TOKEN.reveal() not in repr(wanted)
    await Registrar(pool, metrics=SyncMetrics()).register_once(wanted)
    (row,) = await registrations(pool)
    assert row.address_prefix == PREFIX


async def test_generated_credentials_are_long_random_and_stable(pool: asyncpg.Pool) -> None:
    first = await channel_credential(pool, "acme", "woo", "woocommerce")
    again = await channel_credential(pool, "acme", "woo", "woocommerce")
    other = await channel_credential(pool, "acme", "sw", "shopware")
    assert first == again and first != other
    assert len(first.reveal()) >= 43  # 32 random bytes, URL-safe base64
    assert first.reveal() not in repr(first)


async def test_a_topic_no_longer_configured_is_deleted_with_an_info_line_of_its_own(
    pool: asyncpg.Pool, records: list[Any]
) -> None:
    support = FakeWebhooks()
    registrar = Registrar(pool, metrics=SyncMetrics())
    await registrar.register_once(
        target(support, topics=("orders/create", "orders/updated", "products/update"))
    )
    records.clear()
    assert await registrar.register_once(target(support, topics=("orders/create",)))
    assert infos(records) == [
        "webhooks of acme/shop: deleted orders/updated at the shop (no longer configured)",
        "webhooks of acme/shop: deleted products/update at the shop (no longer configured)",
    ]
    assert set(support.subscriptions) == {"orders/create"}
