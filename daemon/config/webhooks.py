"""Webhooks: ``[webhooks]`` (the process's receiver) and each channel's ``webhooks`` switch.

A webhook is only a trigger: a delivery makes the channel's flow run now, the flow reads the shop through its
API as always, and polling stays the source of truth. The receiver listens on loopback unless configured
otherwise; shops reach it through a TLS reverse proxy at ``public_url``.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field

from daemon.config.types import Bool, HttpUrl, Int, Seconds, Section

MIB = 1024 * 1024
DEFAULT_PORT = 9465


def _ip_network(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an IP address or network (e.g. 127.0.0.1 or 10.0.0.0/8)"
        ) from None
    return value


ProxyAddress = Annotated[str, AfterValidator(_ip_network)]


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _https_unless_local(value: str) -> str:
    # Shops refuse (Shopify) or should never be given (the others: the URL carries Shopware's token) a
    # plain-http address on a public network; loopback is for sandboxes and a proxy on the same host.
    if urlsplit(value).scheme != "https" and not is_loopback_url(value):
        raise ValueError("must be an https:// URL (plain http:// only for 127.0.0.1/localhost)")
    return value


class WebhooksConfig(Section):
    """``[webhooks]``: the receiver of shop deliveries (process-wide; a change takes effect after a restart)."""

    host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    """Listen address; keep it local and put a TLS reverse proxy in front (README "Webhooks")."""
    port: Annotated[Int, Field(ge=1, le=65535)] = DEFAULT_PORT
    public_url: Annotated[HttpUrl, AfterValidator(_https_unless_local)] | None = None
    """The address shops call, as the proxy publishes it (e.g. https://sync.example.com/ffn-sync); each
    channel's webhooks go to ``<public_url>/webhooks/<merchant>/<channel>``. Required when a channel has
    webhooks on."""
    max_body_bytes: Annotated[Int, Field(ge=1024, le=64 * MIB)] = MIB
    """Larger deliveries are refused with 413."""
    trusted_proxies: tuple[ProxyAddress, ...] = ()
    """Peers whose X-Forwarded-For names the real source address in the log; others are logged as they
    connect (the default: nobody is trusted)."""
    duplicate_window_s: Annotated[Seconds, Field(le=86400)] = 900.0
    """A delivery whose id, or whose signed body, was seen within this long triggers nothing (the body too,
    because Shopify's id header is unsigned; not for topics whose body repeats for distinct events, such as
    Shopify's fulfillment_orders/hold_released: those by id only)."""
    silent_after: Annotated[Int, Field(ge=1, le=1000)] = 3
    """``status`` calls a channel's webhooks silent after this many ``expected_every_s`` without delivery."""


def _switch_or_table(value: Any) -> Any:
    # ``webhooks = true`` is the short form of ``[channels.webhooks]`` with the defaults.
    if isinstance(value, bool):
        return {"enabled": value}
    return value


class ChannelWebhooksTable(Section):
    enabled: Bool = True
    expected_every_s: Seconds = 3600.0
    """At least one delivery is expected this often (a quiet shop: raise it); status says "silent" after
    ``[webhooks].silent_after`` times this without one."""


ChannelWebhooks = Annotated[ChannelWebhooksTable, BeforeValidator(_switch_or_table)]
"""``webhooks = true|false`` or a ``[channels.webhooks]`` table."""
