"""One merchant file: ``[merchant]``, ``[ffn]``, ``[[channels]]`` (+ optional process-wide sections)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from daemon.config.channels import AnyChannelConfig, ChannelName, ShopChannelConfig
from daemon.config.ffn import FfnConfig
from daemon.config.fingerprint import fingerprint_of
from daemon.config.process import DaemonConfig, DatabaseConfig, LoggingConfig, MetricsConfig
from daemon.config.types import Int, Section, matching
from daemon.config.webhooks import WebhooksConfig

_FOUR_ALNUM = r"[A-Za-z0-9]{4}"


class MerchantSection(Section):
    id: Annotated[
        str, matching(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", "must be a slug: a-z, 0-9 and '-' (e.g. acme)")
    ]
    ffn_merchant_id: Annotated[
        str, matching(_FOUR_ALNUM, "must be exactly 4 letters or digits: your FFN merchantId (e.g. MERC)")
    ]
    warehouse_id: Annotated[
        str, Field(min_length=14), matching(r"\S+", "must not contain spaces (e.g. FULF04XX-12345-0001)")
    ]
    fulfiller_id: Annotated[
        str, matching(_FOUR_ALNUM, "must be exactly 4 letters or digits: the FFN fulfillerId (e.g. FULF)")
    ]
    product_master: ChannelName | None = None
    """The channel whose products are sent to FFN; absent -> no products flow."""
    personal_data_days: Annotated[Int, Field(ge=1, le=3650)] = 90
    """Days after an order is closed (shipped, cancelled, not exported) until its personal data is removed."""


class MerchantFile(Section):
    """The TOML shape of one file, exactly as written."""

    merchant: MerchantSection
    ffn: FfnConfig
    channels: tuple[AnyChannelConfig, ...]  # at least one: checked on the raw data (see checks)
    daemon: DaemonConfig | None = None
    database: DatabaseConfig | None = None
    logging: LoggingConfig | None = None
    metrics: MetricsConfig | None = None
    webhooks: WebhooksConfig | None = None


class MerchantConfig(MerchantSection):
    """One merchant as the engine sees it: its FFN account and its shop channels."""

    ffn: FfnConfig
    channels: tuple[AnyChannelConfig, ...]
    source: Path

    def channel(self, name: str) -> ShopChannelConfig:
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(f"merchant {self.id} has no channel {name!r}")

    @property
    def enabled_channels(self) -> tuple[ShopChannelConfig, ...]:
        return tuple(channel for channel in self.channels if channel.enabled)

    @property
    def product_master_channel(self) -> ShopChannelConfig | None:
        return self.channel(self.product_master) if self.product_master else None

    def fingerprint(self) -> str:
        """Changes whenever anything of this merchant changes (secret values included, never revealed)."""
        return fingerprint_of(self)

    @classmethod
    def from_file(cls, parsed: MerchantFile, source: Path) -> MerchantConfig:
        return cls(**dict(parsed.merchant), ffn=parsed.ffn, channels=parsed.channels, source=source)
