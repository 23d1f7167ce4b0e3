"""``ffn-sync ffn-login``: the one-time OAuth consent for a merchant's FFN account.

Prints the authorize URL, takes the code (``--code`` or a prompt), exchanges it and stores the tokens
in Postgres, where the daemon rotates the single-use refresh token from then on.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys

from daemon.cli.common import load_app_config
from daemon.cli.exitcodes import ExitCode
from daemon.cli.registry import Command


async def _login(args: argparse.Namespace) -> int:
    from daemon.app import open_store
    from daemon.store.tokens import PgTokenStore
    from daemon.store.wake import announce_login
    from daemon.wiring.login import authorize_url, exchange_code

    config = load_app_config(args)
    merchants = [m for m in config.merchants if args.merchant in (None, m.id)]
    if not merchants:
        print(f"no merchant {args.merchant!r} in the configuration", file=sys.stderr)
        return ExitCode.USAGE
    if len(merchants) > 1:
        print("several merchants configured: pick one with --merchant ID", file=sys.stderr)
        return ExitCode.USAGE
    merchant = merchants[0]
    ffn = merchant.ffn
    url = authorize_url(ffn.authorize_url, ffn.client_id, ffn.redirect_uri, secrets.token_urlsafe(16))
    print(f"1. Open this URL as the FFN merchant {merchant.ffn_merchant_id} and consent:\n\n   {url}\n")
    print(f"2. You are sent to {ffn.redirect_uri}?code=…; copy the code parameter.\n")
    code = args.code or (await asyncio.to_thread(input, "code: ")).strip()
    if not code:
        print("no code given; nothing stored", file=sys.stderr)
        return ExitCode.USAGE
    async with open_store(config) as db:
        tokens = await exchange_code(
            ffn.token_url,
            ffn.client_id,
            ffn.client_secret,
            code,
            ffn.redirect_uri,
            PgTokenStore(db.pool, merchant.id),
        )
        await announce_login(db.pool, merchant.id)  # a running daemon retries this merchant's flows now
    print(
        f"tokens stored for merchant {merchant.id}; access valid until {tokens.expires_at:%Y-%m-%d %H:%M %Z}"
    )
    return ExitCode.OK


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--merchant", help="merchant id (required when several are configured)")
    parser.add_argument("--code", help="the authorization code (otherwise prompted)")


COMMANDS = [
    Command(
        name="ffn-login",
        help="one-time OAuth consent for FFN: prints the URL, stores the tokens",
        description=(
            "Run once per merchant, and again whenever the daemon logs that the FFN consent was revoked "
            "(invalid_grant). Works against the sandbox with the code sandbox-code."
        ),
        handler=lambda args: asyncio.run(_login(args)),
        configure=_configure,
        order=30,
    )
]
