"""One-time consent (``ffn-sync ffn-login``): the authorize URL and the authorization-code exchange."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import aiohttp

from adapters.ffn.auth import UPSTREAM, basic_auth, oauth_error_factory, request_tokens
from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.http import HttpClient
from daemon.oauth import TokenSet, TokenStore
from daemon.secrets import Secret, register

DEFAULT_AUTHORIZE_URL = "https://oauth2.api.jtl-software.com/authorize"
DEFAULT_TOKEN_URL = "https://oauth2.api.jtl-software.com/token"
DEFAULT_SCOPES = "ffn.merchant.read ffn.merchant.write"


def authorize_url(
    authorize_base: str, client_id: str, redirect_uri: str, state: str, scope: str = DEFAULT_SCOPES
) -> str:
    """Where the merchant's browser goes to consent; scopes space-delimited (sent as %20)."""
    query = urlencode(
        {
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "scope": scope,
            "state": state,
        },
        quote_via=quote,
        safe="",
    )
    separator = "&" if "?" in authorize_base else "?"
    return f"{authorize_base}{separator}{query}"


async def exchange_code(
    token_url: str,
    client_id: str,
    client_secret: Secret,
    code: str,
    redirect_uri: str,
    store: TokenStore,
    session: aiohttp.ClientSession | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> TokenSet:
    """Trade the code for the first token pair and store it (replacing whatever was stored)."""
    http = HttpClient(
        UPSTREAM, token_url, clock=clock, session=session, max_attempts=1, error_factory=oauth_error_factory
    )
    try:
        form = {"grant_type": "authorization_code", "code": code.strip(), "redirect_uri": redirect_uri}
        tokens = await request_tokens(http, token_url, basic_auth(client_id, client_secret), form, clock)
        # One pair per consent (a person's action), so they may stay masked for good.
        register(tokens.access_token)
        register(tokens.refresh_token)
    finally:
        await http.aclose()
    await store.save(tokens)
    return tokens
