"""A staged rotation (``ffn-sync webhooks --rotate``): the next registration pass registers the new
credential while the receiver accepts old and new, then only the new one is accepted; each pass reads the
credentials from Postgres, so an instance that did not rotate catches up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from daemon.monitor.metrics import SyncMetrics
from daemon.secrets import Secret
from daemon.store.webhooks import channel_credential, generated_credentials, registrations, stage_credential
from daemon.webhooks.credentials import generated
from daemon.webhooks.endpoint import Endpoint
from daemon.webhooks.registration import Registrar, Target
from daemon.webhooks.types import RegistrationReport, WebhookCredentials, WebhookFlow
from tests.daemon.webhooks.fake import FakeWebhooks

PREFIX = "https://sync.example.com/webhooks/acme/shop"


class Watching(FakeWebhooks):
    """Notes what the receiver's endpoint accepted while the shop was being re-registered."""

    endpoint: Endpoint | None = None
    accepted_during: WebhookCredentials | None = None
    registered_with: WebhookCredentials | None = None

    async def register(
        self, address: str, topics: Any, credentials: WebhookCredentials, *, address_prefix: str
    ) -> RegistrationReport:
        assert self.endpoint is not None
        self.accepted_during = self.endpoint.credentials
        self.registered_with = credentials
        return await super().register(address, topics, credentials, address_prefix=address_prefix)


async def channel(pool: asyncpg.Pool, kind: str) -> tuple[Target, Watching, Secret]:
    old = await channel_credential(pool, "acme", "shop", kind)
    support = Watching()
    credentials = generated(kind, old)
    endpoint = Endpoint(
        "acme", "shop", kind, support, credentials, frozenset({WebhookFlow.ORDERS}), lambda flow: None
    )
    support.endpoint = endpoint
    target = Target("acme", "shop", kind, support, credentials, ("orders/create",), PREFIX, endpoint=endpoint)
    return target, support, old


def reveal(secrets: tuple[Secret, ...]) -> list[str]:
    return [s.reveal() for s in secrets]


async def test_a_rotated_woocommerce_secret_is_registered_then_the_old_one_refused(
    pool: asyncpg.Pool,
) -> None:
    target, support, old = await channel(pool, "woocommerce")
    registrar = Registrar(pool, metrics=SyncMetrics())
    assert await registrar.register_once(target)
    await stage_credential(pool, "acme", "shop", "woocommerce")
    (row,) = await registrations(pool)
    assert row.rotation_pending
    _, new = await generated_credentials(pool, "acme", "shop")
    assert new is not None and new != old

    assert await registrar.register_once(target)
    assert support.registered_with is not None
    assert support.registered_with.secrets[0] == new  # what the shop signs with from now on
    assert support.accepted_during is not None
    assert reveal(support.accepted_during.secrets) == [new.reveal(), old.reveal()]
    assert target.endpoint is not None
    assert reveal(target.endpoint.credentials.secrets) == [new.reveal()]
    assert await generated_credentials(pool, "acme", "shop") == (new, None)
    (row,) = await registrations(pool)
    assert not row.rotation_pending


async def test_a_rotated_shopware_token_moves_the_address_and_the_old_token_is_refused(
    pool: asyncpg.Pool,
) -> None:
    target, support, old = await channel(pool, "shopware")
    registrar = Registrar(pool, metrics=SyncMetrics())
    assert await registrar.register_once(target)
    await stage_credential(pool, "acme", "shop", "shopware")
    _, new = await generated_credentials(pool, "acme", "shop")
    assert new is not None
    assert await registrar.register_once(target)
    assert support.subscriptions["orders/create"].address == f"{PREFIX}/{new.reveal()}"
    assert support.accepted_during is not None and support.accepted_during.tokens == (new, old)
    assert target.endpoint is not None and target.endpoint.credentials.tokens == (new,)


async def test_a_failed_pass_keeps_accepting_both_and_retries_with_the_new_one(pool: asyncpg.Pool) -> None:
    target, support, old = await channel(pool, "woocommerce")
    registrar = Registrar(pool, metrics=SyncMetrics())
    await stage_credential(pool, "acme", "shop", "woocommerce")
    support.failing = ConnectionError("shop down")
    assert not await registrar.register_once(target)
    _, new = await generated_credentials(pool, "acme", "shop")
    assert new is not None and target.endpoint is not None
    assert reveal(target.endpoint.credentials.secrets) == [new.reveal(), old.reveal()]
    support.failing = None
    assert await registrar.register_once(target)
    assert reveal(target.endpoint.credentials.secrets) == [new.reveal()]


async def test_an_instance_that_did_not_rotate_takes_the_new_secret_at_its_next_pass(
    pool: asyncpg.Pool,
) -> None:
    target, _, _ = await channel(pool, "woocommerce")
    other, _, _ = await channel(pool, "woocommerce")  # a second instance, built before the rotation
    registrar = Registrar(pool, metrics=SyncMetrics())
    await stage_credential(pool, "acme", "shop", "woocommerce")
    assert await registrar.register_once(target)
    current, _ = await generated_credentials(pool, "acme", "shop")
    assert current is not None
    assert await registrar.register_once(other)
    assert other.endpoint is not None and reveal(other.endpoint.credentials.secrets) == [current.reveal()]


@pytest.mark.usefixtures("restore_logging")
def test_rotate_refuses_an_unknown_channel_or_one_without_webhooks_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from daemon.cli import main
    from tests.daemon.test_cli import SECRETS, merchant_toml

    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "acme.toml"
    path.write_text(merchant_toml(tmp_path / "state", dsn_env=None))  # no database is opened
    assert main(["webhooks", "--rotate", "acme/nope", "--config", str(path)]) == 64
    err = capsys.readouterr().err
    assert "no channel 'acme/nope'" in err and "known: acme/shop-main" in err
    assert main(["webhooks", "--rotate", "acme/shop-main", "--config", str(path)]) == 64
    assert "has no webhooks on: nothing to rotate" in capsys.readouterr().err
