"""Deterministic identities that make retries collide instead of duplicating."""

from __future__ import annotations

import base64
import hashlib

OUTBOUND_ID_SUFFIX_LEN = 10
_PREFIX_BYTES = 10  # whole 5-byte base32 groups covering the suffix's 50 bits


def outbound_id(ffn_merchant_id: str, channel: str, shop_order_id: str) -> str:
    """``{merchantId}02`` + 10 base32 chars of a hash of (channel, shop order id).

    FFN accepts a client-chosen id matching ``^[a-zA-Z0-9]{7,16}$`` whose first six characters are
    ``{merchantId}02``; base32 (A-Z, 2-7) fits that alphabet. 50 bits make a collision between two
    orders of one merchant practically impossible (~1e-6 at 50 million orders).
    """
    digest = hashlib.sha256(f"{channel}\x1f{shop_order_id}".encode()).digest()
    # Base32 turns each 5 bytes into 8 characters on their own, so the first 10 bytes give the same
    # first 10 characters as the whole digest (the pure-Python encoder is a cost per exported order).
    suffix = base64.b32encode(digest[:_PREFIX_BYTES]).decode("ascii")[:OUTBOUND_ID_SUFFIX_LEN]
    return f"{ffn_merchant_id}02{suffix}"


def merchant_outbound_number(order_prefix: str, shop_order_number: str) -> str:
    return f"{order_prefix}{shop_order_number}"
