"""The whole configuration of one process: its merchants plus the process-wide sections."""

from __future__ import annotations

from pathlib import Path

from daemon.config.fingerprint import fingerprint_of
from daemon.config.merchant import MerchantConfig
from daemon.config.process import DaemonConfig, DatabaseConfig, LoggingConfig, MetricsConfig
from daemon.config.types import Section
from daemon.config.webhooks import WebhooksConfig


class AppConfig(Section):
    merchants: tuple[MerchantConfig, ...]
    database: DatabaseConfig = DatabaseConfig()
    logging: LoggingConfig = LoggingConfig()
    metrics: MetricsConfig = MetricsConfig()
    daemon: DaemonConfig = DaemonConfig()
    webhooks: WebhooksConfig = WebhooksConfig()
    sources: tuple[Path, ...] = ()
    """The files read, in load order."""

    def merchant(self, merchant_id: str) -> MerchantConfig:
        for merchant in self.merchants:
            if merchant.id == merchant_id:
                return merchant
        raise KeyError(f"no merchant {merchant_id!r} in the configuration")

    def fingerprint(self) -> str:
        """Equal for two loads of an unchanged configuration within this process; differs after any change,
        including a rotated secret. Safe to log: reveals nothing about secret values."""
        return fingerprint_of(self)
