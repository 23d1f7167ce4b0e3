"""Input hygiene at the mapping boundary: what one side sends is made acceptable to the other. Pure.

- Country codes become ISO 3166-1 alpha-2 (names and alpha-3 codes are looked up with ``pycountry``);
  what cannot be resolved is refused, so the order is parked with the reason instead of being shipped
  to a made-up country.
- Tracking URLs are kept only when they are http(s): a ``javascript:`` or ``data:`` link must never reach a
  shop page a customer clicks.
- Text is cut to the target's limit (``cut``): a generic helper every mapping can use with its own limits.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

import pycountry

from daemon.model import Shipment, Tracking

# The shops document no limits for these; 255 is the strictest common column size (WooCommerce meta keys,
# Shopware's varchar fields), and URLs get the limit browsers and proxies agree on.
SHOP_TRACKING_LIMITS = {"number": 255, "carrier": 255, "url": 2048}
# ISO 3166-1 reserves these exceptionally; shops still send them.
# UK and EL are EU usage for GB and GR; XK (Kosovo) is user-assigned in ISO 3166 but what shops send.
_EXCEPTIONAL = {"UK": "GB", "EL": "GR", "XK": "XK"}


class UnknownCountry(ValueError):
    """A country that is neither an ISO 3166-1 code nor a name pycountry knows."""


def cut(text: str | None, limit: int) -> str | None:
    """``text`` stripped and cut to ``limit`` characters (never in the middle of a surrogate pair:
    Python strings are code points); None and blank stay None."""
    if text is None:
        return None
    text = text.strip()
    return text[:limit] if text else None


def country_code(value: str) -> str:
    """ISO 3166-1 alpha-2 for a code, an alpha-3 code or an English country name."""
    text = " ".join(value.split())
    upper = text.upper()
    if upper in _EXCEPTIONAL:
        return _EXCEPTIONAL[upper]
    if len(upper) == 2 and upper.isalpha():
        country = pycountry.countries.get(alpha_2=upper)
    else:
        try:
            country = pycountry.countries.lookup(text)
        except LookupError:
            country = None
    if country is None:
        raise UnknownCountry(f"country {value!r} is not an ISO 3166-1 code or a known country name")
    return str(country.alpha_2)


def safe_tracking_url(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) URL within the limit, else None (the number is kept)."""
    url = cut(url, SHOP_TRACKING_LIMITS["url"] + 1)
    if url is None or len(url) > SHOP_TRACKING_LIMITS["url"]:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    return url


def clean_tracking(tracking: Tracking) -> Tracking:
    return Tracking(
        number=cut(tracking.number, SHOP_TRACKING_LIMITS["number"]),
        carrier=cut(tracking.carrier, SHOP_TRACKING_LIMITS["carrier"]),
        url=safe_tracking_url(tracking.url),
    )


def clean_shipment(shipment: Shipment) -> tuple[Shipment, list[str]]:
    """The shipment with every tracking cleaned; the second value names what was dropped (for a WARNING)."""
    dropped = [
        f"tracking URL {t.url[:80]!r} (only http(s) URLs are written to shops)"
        for t in shipment.trackings
        if t.url and safe_tracking_url(t.url) is None
    ]
    return replace(shipment, trackings=tuple(clean_tracking(t) for t in shipment.trackings)), dropped
