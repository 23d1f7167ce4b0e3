"""JTL Fulfillment Network (Merchant API v1): the Fulfiller (``fulfiller.py``), its reads and writes, pure mapping."""

from adapters.ffn.auth import FfnAuth
from adapters.ffn.fulfiller import DEFAULT_BASE_URL, SANDBOX_BASE_URL, FfnClient
from adapters.ffn.login import DEFAULT_AUTHORIZE_URL, DEFAULT_TOKEN_URL, authorize_url, exchange_code

__all__ = [
    "DEFAULT_AUTHORIZE_URL",
    "DEFAULT_BASE_URL",
    "DEFAULT_TOKEN_URL",
    "SANDBOX_BASE_URL",
    "FfnAuth",
    "FfnClient",
    "authorize_url",
    "exchange_code",
]
