"""The merchant's JTL-FFN account: endpoints, OAuth client, pacing and the FFN-side flow intervals."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from daemon.config.references import PlainOrReference, SecretValue
from daemon.config.types import Bool, HttpUrl, Int, NonNegativeSeconds, Seconds, Section


class CursorConfig(Section):
    """Delta window ``[cursor - overlap_s, now - lag_s]``: overlap re-reads a little, lag absorbs clock skew."""

    overlap_s: NonNegativeSeconds = 120.0
    lag_s: NonNegativeSeconds = 5.0


class FfnIntervals(Section):
    shipments: Seconds = 60.0
    status: Seconds = 120.0
    stock: Seconds = 60.0
    reconcile: Seconds = 3600.0


class FfnConfig(Section):
    base_url: HttpUrl = "https://ffn.api.jtl-software.com/api"
    token_url: HttpUrl = "https://oauth2.api.jtl-software.com/token"
    authorize_url: HttpUrl = "https://oauth2.api.jtl-software.com/authorize"
    redirect_uri: HttpUrl = "https://localhost/callback"
    client_id: PlainOrReference
    client_secret: SecretValue
    requests_per_second: Annotated[float, Field(gt=0, le=1000, strict=True)] = 4.0
    max_concurrency: Annotated[Int, Field(ge=1, le=64)] = 4
    oversale: Bool = False
    """Let FFN create outbounds even when stock is short."""
    stock_level: Literal["net", "gross"] = "net"
    """What FFN's ``stockLevel`` is taken to be (the spec does not say): ``net`` = already without the
    quantities reserved by outbounds and blocked by the fulfiller; ``gross`` = ffn-sync subtracts
    ``stockLevelReserved`` and ``stockLevelBlocked`` itself."""
    intervals: FfnIntervals = FfnIntervals()
    cursor: CursorConfig = CursorConfig(overlap_s=120.0, lag_s=10.0)
