"""OAuth against the sandbox with a real Postgres token store: rotation, restarts, replays, 401s."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from loguru import logger

from adapters.ffn import FfnAuth, authorize_url, exchange_code
from daemon.clock import FakeClock
from daemon.errors import AuthError, RetryableError
from daemon.oauth import TokenSet
from daemon.secrets import MAX_RETIRED_PER_SLOT, Secret, redact, registry_size
from daemon.store.tokens import PgTokenStore
from sandboxes.ffn.oauth import CLIENT_ID, CLIENT_SECRET
from tests.adapters.ffn.conftest import ClientFactory, Sandbox
from tests.live_objects import grown, own_objects


def auth_for(sandbox: Sandbox, store: PgTokenStore, clock: FakeClock, **kw: object) -> FfnAuth:
    return FfnAuth(
        sandbox.token_url,
        client_id=CLIENT_ID,
        client_secret=Secret(CLIENT_SECRET),
        store=store,
        clock=clock,
        **kw,  # type: ignore[arg-type]
    )


async def test_proactive_refresh_rotates_and_persists_before_use(
    make_client: ClientFactory, sandbox: Sandbox, logged_in: PgTokenStore, clock: FakeClock
) -> None:
    client = make_client()
    first = await logged_in.load()
    assert first is not None
    await client.setup.warehouses()

    clock.advance(1800 - 30)  # inside the proactive window, still valid at the server
    await client.setup.warehouses()

    stored = await logged_in.load()
    assert stored is not None and stored.refresh_token != first.refresh_token
    used = sandbox.requests("GET", "/warehouses")[-1].request_headers["Authorization"]
    assert used == f"Bearer {stored.access_token}"
    assert sandbox.oauth.refreshes == 1


async def test_rotation_survives_a_restart_and_old_refresh_token_is_dead(
    make_client: ClientFactory, sandbox: Sandbox, logged_in: PgTokenStore, clock: FakeClock
) -> None:
    original = await logged_in.load()
    assert original is not None
    before = make_client()
    clock.advance(1800)
    await before.setup.warehouses()
    await before.aclose()

    after = make_client()  # a new process: everything comes from Postgres
    clock.advance(1800)
    await after.setup.fulfillers()
    assert sandbox.oauth.refreshes == 2

    replay = auth_for(sandbox, _FixedStore(original), clock)
    clock.advance(1)
    with pytest.raises(AuthError, match="ffn-sync ffn-login --config") as refused:
        await replay.access_token()
    assert refused.value.vendor_code == "invalid_grant"
    await replay.aclose()


async def test_a_401_refreshes_once_and_repeats_the_request(
    make_client: ClientFactory, sandbox: Sandbox, log_lines: list[str]
) -> None:
    client = make_client()
    await client.setup.warehouses()
    await sandbox.control("POST", "oauth/expire-access-tokens")

    warehouses = await client.setup.warehouses()

    assert warehouses[0]["warehouseId"] == "FULF04XX-12345-0001"
    statuses = [e.status for e in sandbox.requests("GET", "/warehouses")]
    assert statuses == [200, 200, 401, 200, 200]  # two pages each (page size 2)
    assert sandbox.oauth.refreshes == 1
    assert any("reauthorized" in line for line in log_lines)


async def test_concurrent_callers_share_one_refresh(make_client: ClientFactory, sandbox: Sandbox) -> None:
    client = make_client()
    await client.setup.warehouses()
    await sandbox.control("POST", "oauth/expire-access-tokens")

    await asyncio.gather(*(client.setup.warehouses() for _ in range(6)))

    assert sandbox.oauth.refreshes == 1


async def test_no_tokens_stored_tells_the_operator_to_log_in(
    sandbox: Sandbox, store: PgTokenStore, clock: FakeClock
) -> None:
    auth = auth_for(sandbox, store, clock)
    with pytest.raises(AuthError, match="ffn-sync ffn-login --config"):
        await auth.access_token()
    await auth.aclose()


async def test_tokens_are_not_used_before_they_are_stored(
    sandbox: Sandbox, logged_in: PgTokenStore, clock: FakeClock
) -> None:
    flaky = _FlakyStore(logged_in)
    auth = auth_for(sandbox, flaky, clock)
    old = await auth.access_token()
    clock.advance(1800)
    flaky.fail_saves = 1

    with pytest.raises(RetryableError, match="could not store the rotated"):
        await auth.access_token()
    assert (await logged_in.load()).access_token == old  # type: ignore[union-attr]

    fresh = await auth.access_token()  # the rotated pair is stored first, then used
    assert fresh != old and (await logged_in.load()).access_token == fresh  # type: ignore[union-attr]
    assert sandbox.oauth.refreshes == 1
    await auth.aclose()


async def test_authorize_page_redirects_with_the_test_code(sandbox: Sandbox) -> None:
    url = authorize_url(f"{sandbox.base}/authorize", CLIENT_ID, "http://127.0.0.1:9/cb", "st4te")
    assert "scope=ffn.merchant.read%20ffn.merchant.write" in url

    async with sandbox.session.get(url, allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == "http://127.0.0.1:9/cb?code=sandbox-code&state=st4te"


class _FixedStore:
    def __init__(self, tokens: TokenSet) -> None:
        self.tokens = TokenSet(
            tokens.access_token, tokens.refresh_token, tokens.expires_at - timedelta(hours=1)
        )

    async def load(self) -> TokenSet | None:
        return self.tokens

    async def save(self, tokens: TokenSet) -> None:
        self.tokens = tokens


class _FlakyStore:
    def __init__(self, inner: PgTokenStore) -> None:
        self.inner = inner
        self.fail_saves = 0

    async def load(self) -> TokenSet | None:
        return await self.inner.load()

    async def save(self, tokens: TokenSet) -> None:
        if self.fail_saves:
            self.fail_saves -= 1
            raise ConnectionError("database restarting")
        await self.inner.save(tokens)


async def test_wrong_code_or_secret_is_an_auth_error(sandbox: Sandbox, store: PgTokenStore) -> None:
    with pytest.raises(AuthError, match="invalid_grant"):
        await exchange_code(sandbox.token_url, CLIENT_ID, Secret(CLIENT_SECRET), "nope", "http://x/cb", store)
    with pytest.raises(AuthError, match="invalid_client") as refused:
        await exchange_code(
            sandbox.token_url, CLIENT_ID, Secret("wrong-secret"), "sandbox-code", "http://x/cb", store
        )
    assert "wrong-secret" not in str(refused.value)
    assert await store.load() is None


async def test_spent_tokens_leave_the_redaction_registry(
    sandbox: Sandbox, logged_in: PgTokenStore, clock: FakeClock
) -> None:
    auth = auth_for(sandbox, logged_in, clock)
    clock.advance(1800)  # the pair from the login (masked for good) is rotated away
    first = await auth.access_token()
    assert redact(first) == "***"
    size = registry_size()
    for _ in range(MAX_RETIRED_PER_SLOT + 2):
        clock.advance(1800)
        await auth.access_token()
    current = await auth.access_token()
    assert redact(current) == "***"
    assert redact(first) == first  # evicted: a slot keeps only its last few spent tokens
    assert registry_size() <= size + 2 * MAX_RETIRED_PER_SLOT
    await auth.aclose()


async def test_a_routine_refresh_writes_no_info_line(
    sandbox: Sandbox, logged_in: PgTokenStore, clock: FakeClock
) -> None:
    """Twice an hour per merchant: an idle fleet's log must not be made of these (issue 18: ≤ 2 lines per
    idle merchant-hour)."""
    auth = auth_for(sandbox, logged_in, clock)
    lines: list[str] = []
    sink = logger.add(lines.append, level="INFO", format="{message}")
    try:
        for _ in range(3):
            clock.advance(1800)
            await auth.access_token()
    finally:
        logger.remove(sink)
        await auth.aclose()
    assert auth.refreshes == 3
    assert lines == []


async def test_refreshes_leave_no_growing_structure(
    sandbox: Sandbox, logged_in: PgTokenStore, clock: FakeClock
) -> None:
    """Issue 18's soak: a day of refreshes must not pile anything up (tokens, slots, records, hooks)."""
    auth = auth_for(sandbox, logged_in, clock)
    try:
        for _ in range(2 * MAX_RETIRED_PER_SLOT):  # the slots' retired values fill up first
            clock.advance(1800)
            await auth.access_token()
        before, size = own_objects(), registry_size()
        for _ in range(200):
            clock.advance(1800)
            await auth.access_token()
        after = own_objects()
    finally:
        await auth.aclose()
    assert auth.refreshes == 200 + 2 * MAX_RETIRED_PER_SLOT
    assert registry_size() == size
    assert grown(before, after, at_least=10) == {}
