"""One FFN sandbox, many merchants: one OAuth client each, the merchant taken from the token, worlds apart."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import aiohttp
import orjson
import pytest

from adapters.ffn import FfnAuth, FfnClient, exchange_code
from daemon.clock import FakeClock
from daemon.errors import SyncError
from daemon.secrets import Secret
from daemon.store.tokens import PgTokenStore
from sandboxes.ffn import WORLD_KEY
from sandboxes.kit.kit import KIT_KEY
from sandboxes.kit.tenants import TENANTS_KEY
from tests.adapters.ffn.conftest import (
    REDIRECT_URI,
    ClientFactory,
    Sandbox,
    outbound,
    product,
)
from tests.adapters.ffn.spec import validate_exchanges

OTHER = "M001"
OTHER_CLIENT, OTHER_SECRET = f"sandbox-{OTHER}", f"sandbox-secret-{OTHER}"


async def _control(sandbox: Sandbox, merchant_id: str, method: str, path: str, body: Any = None) -> Any:
    url = f"{sandbox.base}/merchants/{merchant_id}/_sandbox/{path}"
    async with sandbox.session.request(
        method, url, data=orjson.dumps(body) if body is not None else None
    ) as answer:
        assert answer.status < 300, f"{method} {url}: {answer.status} {await answer.text()}"
        return await answer.json()


async def _other_merchant(sandbox: Sandbox, pool: object, clock: FakeClock) -> tuple[FfnClient, PgTokenStore]:
    answer = await sandbox.control("POST", "clients", {"merchant_id": OTHER})
    assert answer == {"merchant_id": OTHER, "client_id": OTHER_CLIENT}
    store = PgTokenStore(pool, "M" + uuid.uuid4().hex[:7])  # type: ignore[arg-type]
    await exchange_code(
        sandbox.token_url,
        OTHER_CLIENT,
        Secret(OTHER_SECRET),
        "sandbox-code",
        REDIRECT_URI,
        store,
        clock=clock,
    )
    auth = FfnAuth(
        sandbox.token_url,
        client_id=OTHER_CLIENT,
        client_secret=Secret(OTHER_SECRET),
        store=store,
        clock=clock,
    )
    client = FfnClient(
        sandbox.api,
        ffn_merchant_id=OTHER,
        warehouse_id="FULF04XX-12345-0001",
        fulfiller_id="FULF",
        auth=auth,
        requests_per_second=1000.0,
        max_concurrency=8,
        clock=clock,
        page_size=2,
        backoff_base_s=0.01,
    )
    return client, store


async def test_each_merchant_sees_only_its_own_world(
    make_client: ClientFactory, sandbox: Sandbox, pool: object, clock: FakeClock
) -> None:
    mine = make_client()
    theirs, _ = await _other_merchant(sandbox, pool, clock)
    try:
        my_jfsku = await mine.upsert_product(product("A-1"))
        their_jfsku = await theirs.upsert_product(
            product("A-1")
        )  # the same SKU: another merchant's catalogue
        assert my_jfsku.startswith("MERC01") and their_jfsku.startswith(f"{OTHER}01")
        await sandbox.control("PUT", "stock/A-1", {"level": 5})
        await _control(sandbox, OTHER, "PUT", "stock/A-1", {"level": 7})

        assert await mine.create_outbound(outbound("MERC02AAAAAAAA11", "SHOP-1", [(my_jfsku, "A-1", 1)]))
        assert await theirs.create_outbound(
            outbound(f"{OTHER}02BBBBBBBB22", "SHOP-1", [(their_jfsku, "A-1", 2)])
        )

        # Another merchant's outbound is not found, as an unknown one is (the spec's 404).
        assert await theirs.get_outbound("MERC02AAAAAAAA11") is None
        assert await mine.get_outbound(f"{OTHER}02BBBBBBBB22") is None
        with pytest.raises(SyncError):  # an outbound id must start with the caller's merchant id
            await theirs.create_outbound(outbound("MERC02CCCCCCCC33", "SHOP-2", [(their_jfsku, "A-1", 1)]))
        tenant = sandbox.server.app[TENANTS_KEY].apps[OTHER]
        their_world = tenant[WORLD_KEY]
        assert list(sandbox.world.outbounds) == ["MERC02AAAAAAAA11"]
        assert list(their_world.outbounds) == [f"{OTHER}02BBBBBBBB22"]
        assert sandbox.world.slot(my_jfsku, "FULF04XX-12345-0001").reserved == 1
        assert their_world.slot(their_jfsku, "FULF04XX-12345-0001").reserved == 2
        # Each merchant's traffic lands in its own request log, and it is the spec's.
        their_log = tenant[KIT_KEY].log.entries()
        posted = [
            e.request_json()["outboundId"]
            for e in their_log
            if e.method == "POST" and e.path.endswith("/outbounds") and e.status == 201
        ]
        assert f"{OTHER}02BBBBBBBB22" in posted and "MERC02AAAAAAAA11" not in posted
        assert not [e for e in sandbox.kit.log.entries() if f"{OTHER}02".encode() in e.request_body]
        validate_exchanges(their_log)
    finally:
        await theirs.aclose()


async def test_a_token_acts_only_for_its_merchant(sandbox: Sandbox, pool: object, clock: FakeClock) -> None:
    theirs, store = await _other_merchant(sandbox, pool, clock)
    await theirs.aclose()
    tokens = await store.load()
    assert tokens is not None
    access = tokens.access_token
    claims = orjson.loads(_unpad(access.split(".")[1]))
    assert claims["sub"] == OTHER and claims["aud"] == OTHER_CLIENT

    # The other merchant's token on the default merchant's control-addressed API: not its merchant → 401.
    async with sandbox.session.get(
        f"{sandbox.base}/merchants/MERC/api/v1/merchant/outbounds",
        headers={"Authorization": f"Bearer {access}"},
    ) as response:
        assert response.status == 401
    # A refresh token is the client's it was issued to: the default client cannot spend it.
    async with sandbox.session.post(
        sandbox.token_url,
        headers={"Authorization": aiohttp.encode_basic_auth("sandbox", "sandbox-secret")},
        data={"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
    ) as response:
        assert response.status == 400 and (await response.json())["error"] == "invalid_grant"
    # Unknown clients and wrong secrets are refused as before.
    async with sandbox.session.post(
        sandbox.token_url,
        headers={"Authorization": aiohttp.encode_basic_auth(OTHER_CLIENT, "wrong")},
        data={"grant_type": "authorization_code", "code": "sandbox-code", "redirect_uri": REDIRECT_URI},
    ) as response:
        assert response.status == 401
    # Expiring one merchant's tokens leaves the others' alone.
    default_before = len(sandbox.oauth.access_tokens)
    await _control(sandbox, OTHER, "POST", "oauth/expire-access-tokens", {})
    assert sandbox.oauth.merchant(access) is None
    assert len(sandbox.oauth.access_tokens) == default_before - 1


def _unpad(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


async def test_faults_and_the_creation_lock_are_per_merchant(
    make_client: ClientFactory, sandbox: Sandbox, pool: object, clock: FakeClock
) -> None:
    mine = make_client()
    theirs, _ = await _other_merchant(sandbox, pool, clock)
    try:
        await _control(sandbox, OTHER, "PUT", "faults", {"rate": 1.0, "statuses": [429], "retry_after_s": 0})
        await _control(sandbox, OTHER, "PUT", "knobs", {"creation_delay_s": 5.0})
        assert (await mine.upsert_product(product("A-1"))).startswith("MERC01")
        assert sandbox.world.knobs.creation_delay_s == 0.0
        with pytest.raises(SyncError):
            await theirs.upsert_product(product("A-1"))
        theirs_log = sandbox.server.app[TENANTS_KEY].apps[OTHER][KIT_KEY].log.entries()
        assert theirs_log and all(e.status == 429 for e in theirs_log)
        assert all(e.status < 400 for e in sandbox.kit.log.entries())
    finally:
        await theirs.aclose()
