"""Token lifecycle, error handling and the 6.6/6.7 differences — client against the sandbox.

What every shop adapter must do is tested once in tests/contracts; here is what is Shopware's own.
"""

from __future__ import annotations

import asyncio

import pytest

from adapters.shopware import ShopwareChannel
from daemon.clock import FakeClock
from daemon.errors import AuthError, RecordError, RetryableError
from daemon.model import FulfillerStatus, OrderRef, OutboundStatus
from daemon.secrets import Secret, registry_size
from sandboxes.shopware import CLIENT_ID
from tests.adapters.shopware.conftest import Sandbox
from tests.adapters.shopware.spec_check import assert_traffic_valid
from tests.live_objects import grown, own_objects


def token_requests(sandbox: Sandbox) -> int:
    return [e.path for e in sandbox.vendor_traffic()].count("/api/oauth/token")


async def test_one_token_serves_many_calls_and_is_renewed_before_expiry(
    sandbox: Sandbox, channel: ShopwareChannel, clock: FakeClock
) -> None:
    for _ in range(3):
        await channel.get_order("0" * 32)
    assert token_requests(sandbox) == 1
    clock.advance(560)  # inside the last minute of the 600 s lifetime
    await channel.get_order("0" * 32)
    assert token_requests(sandbox) == 2
    assert all(e.status != 401 for e in sandbox.vendor_traffic())


async def test_token_renewals_leave_no_growing_structure(channel: ShopwareChannel, clock: FakeClock) -> None:
    """Issue 18's soak: a new token every ~9 minutes all day must not pile anything up."""
    for _ in range(8):  # the token slot's retired values fill up first
        clock.advance(600)
        await channel.auth.token()
    before, size = own_objects(), registry_size()
    for _ in range(200):
        clock.advance(600)
        await channel.auth.token()
    assert channel.auth.fetches == 208
    assert registry_size() == size
    assert grown(before, own_objects(), at_least=10) == {}


async def test_a_rejected_token_is_refreshed_once_in_a_single_flight(
    sandbox: Sandbox, channel: ShopwareChannel
) -> None:
    await channel.get_order("0" * 32)
    await sandbox.control("POST", "tokens/expire")  # e.g. the integration's key was rotated

    await asyncio.gather(*(channel.get_order("0" * 32) for _ in range(4)))

    assert token_requests(sandbox) == 2
    unauthorized = [e for e in sandbox.vendor_traffic() if e.status == 401]
    assert unauthorized and unauthorized[0].response_json()["errors"][0]["status"] == "401"


async def test_wrong_credentials_are_a_channel_error_without_the_secret(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    secret = "definitely-wrong-secret-value"
    client = ShopwareChannel(sandbox.url, client_id=CLIENT_ID, client_secret=Secret(secret), clock=clock)
    with pytest.raises(AuthError) as caught:
        await client.get_order("0" * 32)
    await client.aclose()
    assert secret not in str(caught.value) and CLIENT_ID in str(caught.value)
    assert secret not in repr(client.auth)
    assert_traffic_valid(sandbox.version, sandbox.kit.log.entries())


async def test_server_errors_are_retried_then_surface_typed(
    sandbox: Sandbox, channel: ShopwareChannel
) -> None:
    await channel.get_order("0" * 32)
    await sandbox.control("PUT", "faults", {"rate": 1.0, "statuses": [503], "retry_after_s": 0})
    with pytest.raises(RetryableError):
        await channel.get_order("0" * 32)
    injected = [e for e in sandbox.vendor_traffic() if e.injected]
    assert len(injected) == 5  # the http core's attempts; a search is safe to repeat
    assert injected[0].response_json()["errors"][0]["code"] == "SANDBOX__INJECTED_FAULT"


async def test_version_is_detected_once(sandbox: Sandbox, channel: ShopwareChannel) -> None:
    first = await channel.api.version()
    await channel.api.version()
    assert (first.major, first.minor) == ((6, 7) if sandbox.version == "6.7" else (6, 6))
    assert first.has_primary_delivery is (sandbox.version == "6.7")
    assert [e.path for e in sandbox.vendor_traffic()].count("/api/_info/version") == 1


async def test_67_orders_name_their_primary_delivery_and_66_orders_do_not(
    sandbox: Sandbox, channel: ShopwareChannel
) -> None:
    await sandbox.product("A")
    created = await sandbox.order(("A", 1))
    await channel.get_order(created["id"])
    answer = next(e for e in sandbox.vendor_traffic() if e.path == "/api/search/order").response_json()
    row = answer["data"][0]
    if sandbox.version == "6.7":
        assert row["primaryOrderDeliveryId"] == row["deliveries"][0]["id"]
    else:
        assert "primaryOrderDeliveryId" not in row and "internalComment" not in row


async def test_66_shop_refuses_67_only_fields_and_associations(
    sandbox: Sandbox, channel: ShopwareChannel
) -> None:
    await sandbox.product("A")
    created = await sandbox.order(("A", 1))
    attempts = [
        channel.api.patch("order", created["id"], {"internalComment": "x"}),
        channel.api.search("order", {"associations": {"primaryOrderDelivery": {}}}),
    ]
    for attempt in attempts:
        if sandbox.version == "6.6":
            with pytest.raises(RecordError):
                await attempt
        else:
            await attempt
    # The channel itself never trips over them on 6.6:
    await channel.apply_order_status(
        OrderRef(created["id"], created["number"]),
        FulfillerStatus("OB", "SW-1", OutboundStatus.CANCELED),
        cancel_in_shop=True,
    )
