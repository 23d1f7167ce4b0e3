"""``webhook_registrations`` (migrations 0007, 0008): generated webhook credentials, their staged rotation and
the registration state per shop channel."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from daemon.secrets import Secret
from daemon.store.db import record_as

CREDENTIAL_SOURCE = "webhook_registrations"  # what a Secret's repr names instead of the value


def new_credential() -> str:
    """256 random bits, URL-safe (it may travel in a URL path: Shopware)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Registration:
    merchant_id: str
    channel: str
    kind: str
    state: str
    topics: tuple[str, ...]
    subscriptions: tuple[dict[str, Any], ...]
    last_error: str | None
    last_registered_at: datetime | None
    last_delivery_at: datetime | None
    address_prefix: str | None
    registered_since: datetime | None
    shop_url: str | None = None
    rotation_pending: bool = False  # a staged credential (never the value itself)


_CREDENTIAL = """
WITH new AS (
    INSERT INTO webhook_registrations (merchant_id, channel, kind, credential) VALUES ($1, $2, $3, $4)
    ON CONFLICT (merchant_id, channel) DO UPDATE SET
        credential = coalesce(webhook_registrations.credential, excluded.credential),
        kind = excluded.kind
    RETURNING credential
)
SELECT credential FROM new
"""


async def channel_credential(pool: asyncpg.Pool, merchant_id: str, channel: str, kind: str) -> Secret:
    """The channel's generated credential, created on first use and kept across restarts and reloads (a
    new one would mean re-registering every webhook)."""
    value: str = await pool.fetchval(_CREDENTIAL, merchant_id, channel, kind, new_credential())
    return Secret(value, source=CREDENTIAL_SOURCE)


async def generated_credentials(
    pool: asyncpg.Pool, merchant_id: str, channel: str
) -> tuple[Secret | None, Secret | None]:
    """The channel's generated credential and the one staged by a rotation (None when there is none); read
    at every registration pass, so each instance registers and accepts what Postgres holds now."""
    row = await pool.fetchrow(
        "SELECT credential, credential_next FROM webhook_registrations WHERE merchant_id = $1 AND channel = $2",
        merchant_id,
        channel,
    )
    if row is None:
        return None, None
    current, staged = row["credential"], row["credential_next"]
    return (
        None if current is None else Secret(current, source=CREDENTIAL_SOURCE),
        None if staged is None else Secret(staged, source=CREDENTIAL_SOURCE),
    )


async def stage_credential(pool: asyncpg.Pool, merchant_id: str, channel: str, kind: str) -> None:
    """A new credential for the next registration pass (``ffn-sync webhooks --rotate``); a second rotation
    before that pass replaces the staged one (the shop never saw it)."""
    await pool.execute(
        "INSERT INTO webhook_registrations (merchant_id, channel, kind, credential_next) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (merchant_id, channel) DO UPDATE SET credential_next = excluded.credential_next,"
        " updated_at = now()",
        merchant_id,
        channel,
        kind,
        new_credential(),
    )


async def promote_credential(pool: asyncpg.Pool, merchant_id: str, channel: str, staged: Secret) -> bool:
    """The staged credential is registered at the shop: it becomes the only one. False when another
    rotation was staged meanwhile (that one waits for the next pass)."""
    status: str = await pool.execute(
        "UPDATE webhook_registrations SET credential = credential_next, credential_next = NULL,"
        " updated_at = now() WHERE merchant_id = $1 AND channel = $2 AND credential_next = $3",
        merchant_id,
        channel,
        staged.reveal(),
    )
    return status.endswith(" 1")


async def forget_registration(pool: asyncpg.Pool, merchant_id: str, channel: str) -> None:
    """The channel's webhooks are gone from the shop (or can no longer be reached): drop its row."""
    await pool.execute(
        "DELETE FROM webhook_registrations WHERE merchant_id = $1 AND channel = $2", merchant_id, channel
    )


async def record_registration(
    pool: asyncpg.Pool,
    merchant_id: str,
    channel: str,
    kind: str,
    *,
    state: str,
    topics: Sequence[str],
    subscriptions: Sequence[dict[str, Any]] | None,
    error: str | None,
    at: datetime,
    address_prefix: str | None = None,
    shop_url: str | None = None,
) -> None:
    """A successful pass (``error`` None) stores what the shop has now and under which ``address_prefix``;
    a failed one keeps the last known subscriptions, prefix and shop (it learnt nothing new)."""
    await pool.execute(
        "INSERT INTO webhook_registrations AS r (merchant_id, channel, kind, state, topics, subscriptions,"
        " last_error, last_registered_at, address_prefix, registered_since, updated_at, shop_url)"
        " VALUES ($1, $2, $3, $4, $5, coalesce($6::jsonb, '[]'), $7,"
        " CASE WHEN $7::text IS NULL THEN $8::timestamptz END,"
        " $9, CASE WHEN $4 = 'registered' THEN $8::timestamptz END, $8::timestamptz, $10)"
        " ON CONFLICT (merchant_id, channel) DO UPDATE SET kind = excluded.kind, state = excluded.state,"
        " topics = excluded.topics, subscriptions = coalesce($6::jsonb, r.subscriptions),"
        " last_error = excluded.last_error,"
        " last_registered_at = coalesce(excluded.last_registered_at, r.last_registered_at),"
        " address_prefix = CASE WHEN $7::text IS NULL THEN $9 ELSE r.address_prefix END,"
        " shop_url = CASE WHEN $7::text IS NULL THEN $10 ELSE r.shop_url END,"
        " registered_since = CASE WHEN excluded.state <> 'registered' THEN NULL"
        " WHEN r.state = 'registered' THEN coalesce(r.registered_since, $8) ELSE $8 END,"
        " updated_at = excluded.updated_at",
        merchant_id,
        channel,
        kind,
        state,
        list(topics),
        None if subscriptions is None else list(subscriptions),
        error,
        at,
        address_prefix,
        shop_url,
    )


async def record_delivery(pool: asyncpg.Pool, merchant_id: str, channel: str, at: datetime) -> None:
    await pool.execute(
        "UPDATE webhook_registrations SET last_delivery_at = greatest(last_delivery_at, $3)"
        " WHERE merchant_id = $1 AND channel = $2",
        merchant_id,
        channel,
        at,
    )


async def registrations(
    pool: asyncpg.Pool, merchant_id: str | None = None, channel: str | None = None
) -> list[Registration]:
    rows = await pool.fetch(
        "SELECT merchant_id, channel, kind, state, topics, subscriptions, last_error, last_registered_at,"
        " last_delivery_at, address_prefix, registered_since, shop_url,"
        " credential_next IS NOT NULL AS rotation_pending FROM webhook_registrations"
        " WHERE ($1::text IS NULL OR merchant_id = $1) AND ($2::text IS NULL OR channel = $2)"
        " ORDER BY merchant_id, channel",
        merchant_id,
        channel,
    )
    return [
        record_as(Registration, row, topics=tuple(row["topics"]), subscriptions=tuple(row["subscriptions"]))
        for row in rows
    ]
