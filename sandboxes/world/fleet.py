"""A fleet on one stage: N merchants, each with its shops and its FFN merchant, on ONE set of sandboxes.

Every merchant gets a shop of its own in each shop sandbox (``/shops/{merchant}/``, the sandboxes' multi-shop
mode), an FFN merchant of its own (a 4-character id, an OAuth client holding its consent, its tokens in
Postgres) and a merchant file of its own in one directory (``ffn-sync run --config DIR``). The sandboxes
build a merchant's worlds on its first request, so staging a thousand costs a client registration and a
token exchange each, and the sandboxes start as fast as for one.

``distinct_hosts``: each merchant's shops at a loopback address of its own (``http://127.1.0.N:PORT/shops/…``,
the stage's shop sandboxes answering there, ``StageOptions.shop_hosts``), so the daemon keeps one connection
per shop as it would with real shops, each its own host. FFN stays one host for all, as in production.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

from loguru import logger
from yarl import URL

from sandboxes.ffn.world import base36
from sandboxes.kit.hosts import loopback_host
from sandboxes.world.catalogue import bounded
from sandboxes.world.consent import grant_ffn_consent
from sandboxes.world.control import Control
from sandboxes.world.errors import WorldUsageError
from sandboxes.world.merchant import MerchantFile, secret_env
from sandboxes.world.shops import FULFILLER_KIND
from sandboxes.world.stage import Stage

MAX_MERCHANTS = 19_000  # "M" + three base-36 digits, short of the default merchant's "MERC"
_STAGING_CONCURRENCY = 16


@dataclass(frozen=True)
class Member:
    """One merchant of the fleet: its file, its secrets and the control APIs of its own worlds."""

    merchant: MerchantFile
    config_path: Path
    env: dict[str, str]
    ffn: Control
    shops: dict[str, Control]  # shop kind -> the control API of this merchant's shop

    @property
    def merchant_id(self) -> str:
        return self.merchant.merchant_id

    @property
    def ffn_merchant_id(self) -> str:
        return self.merchant.ffn_merchant_id


@dataclass(frozen=True)
class Fleet:
    directory: Path  # every member's merchant file, the daemon's --config
    members: list[Member]

    @property
    def env(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for member in self.members:
            merged.update(member.env)
        return merged


def fleet_ids(index: int) -> tuple[str, str]:
    """(the daemon's merchant id, its FFN merchant id) of the fleet's ``index``-th merchant."""
    return f"m{index:04d}", "M" + base36(index, 3)


async def stage_fleet(
    stage: Stage,
    n: int,
    *,
    directory: Path | None = None,
    template: MerchantFile | None = None,
    distinct_hosts: bool = False,
) -> Fleet:
    """``n`` merchants × the stage's shops on the stage's sandboxes, written to ``directory``
    (default ``<work dir>/fleet``); ``template`` (default the stage's merchant) gives timing and knobs;
    ``distinct_hosts``: each merchant's shops on a loopback address of their own (see the module)."""
    if not 1 <= n <= MAX_MERCHANTS:
        raise WorldUsageError(f"a fleet has 1 to {MAX_MERCHANTS:,} merchants, not {n}")
    if distinct_hosts and stage.shop_hosts < n:
        raise WorldUsageError(
            f"{n} merchants on hosts of their own need shop sandboxes answering on {n} loopback "
            f"addresses; the stage's answer on {stage.shop_hosts} (StageOptions.shop_hosts)"
        )
    directory = directory or stage.work_dir / "fleet"
    directory.mkdir(parents=True, exist_ok=True)
    template = template or stage.merchant
    members = await bounded(
        [functools.partial(_stage_member, stage, template, directory, i, distinct_hosts) for i in range(n)],
        _STAGING_CONCURRENCY,
    )
    logger.info(
        "world: fleet of {} merchants × {} shops staged in {} (one set of sandboxes{}, FFN consent each)",
        n,
        len(stage.shops),
        directory,
        ", each merchant's shops at a loopback address of its own" if distinct_hosts else "",
    )
    return Fleet(directory, members)


def shop_base_url(sandbox_url: str, index: int, *, distinct_hosts: bool) -> str:
    """Where the fleet's ``index``-th merchant's shop sits on a shop sandbox (its tenant prefix included)."""
    merchant_id, _ = fleet_ids(index)
    base = URL(sandbox_url).with_host(loopback_host(index)) if distinct_hosts else URL(sandbox_url)
    return f"{str(base).rstrip('/')}/shops/{merchant_id}"


async def _stage_member(
    stage: Stage, template: MerchantFile, directory: Path, index: int, distinct_hosts: bool
) -> Member:
    merchant_id, ffn_id = fleet_ids(index)
    client_id, client_secret = f"sandbox-{ffn_id}", f"sandbox-secret-{ffn_id}"
    ffn_url = stage.sandboxes[FULFILLER_KIND].url
    await stage.ffn.post(
        "clients", {"merchant_id": ffn_id, "client_id": client_id, "client_secret": client_secret}
    )
    secret_prefix = f"{template.env_prefix}_{merchant_id.upper()}"
    merchant = dataclasses.replace(
        template,
        merchant_id=merchant_id,
        ffn_merchant_id=ffn_id,
        ffn_client_id=client_id,
        shop=merchant_id,
        secret_prefix=secret_prefix,
        channels=[
            dataclasses.replace(
                channel,
                url=shop_base_url(stage.sandboxes[channel.kind].url, index, distinct_hosts=distinct_hosts),
            )
            for channel in template.channels
        ],
    )
    path = merchant.write(directory / f"{merchant_id}.toml")
    await grant_ffn_consent(stage.pool, merchant_id, ffn_url, client_id, client_secret, quiet=True)
    env = secret_env(
        [channel.kind for channel in merchant.channels],
        None,
        secret_prefix,
        shop=merchant_id,
        ffn_client_secret=client_secret,
    )
    return Member(
        merchant=merchant,
        config_path=path,
        env=env,
        ffn=Control(stage.session, f"{ffn_url}/merchants/{ffn_id}", FULFILLER_KIND),
        shops={
            kind: Control(stage.session, f"{stage.sandboxes[kind].url}/shops/{merchant_id}", kind)
            for kind in stage.shops
        },
    )
