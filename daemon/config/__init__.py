"""Configuration: one TOML file per merchant, validated strictly; secrets only via ``env:`` / ``file:``.

``load_config(path)`` returns an ``AppConfig`` or raises ``ConfigErrors`` listing every problem (the CLI exits
78). ``config.example.toml`` at the repository root documents every key.
"""

from daemon.config.app import AppConfig
from daemon.config.channels import (
    ChannelConfig,
    ChannelIntervals,
    FulfilmentOptions,
    OrderRules,
    ShippingRules,
    ShopChannelConfig,
    ShopifyChannelConfig,
    ShopwareChannelConfig,
    StatusOptions,
    WooCommerceChannelConfig,
)
from daemon.config.credentials import ShopifyCredentials, ShopwareCredentials, WooCommerceCredentials
from daemon.config.ffn import CursorConfig, FfnConfig, FfnIntervals
from daemon.config.loader import load_config
from daemon.config.merchant import MerchantConfig
from daemon.config.problems import ConfigErrors, ConfigProblem
from daemon.config.process import DaemonConfig, DatabaseConfig, LoggingConfig, MetricsConfig

__all__ = [
    "AppConfig",
    "ChannelConfig",
    "ChannelIntervals",
    "ConfigErrors",
    "ConfigProblem",
    "CursorConfig",
    "DaemonConfig",
    "DatabaseConfig",
    "FfnConfig",
    "FfnIntervals",
    "FulfilmentOptions",
    "LoggingConfig",
    "MerchantConfig",
    "MetricsConfig",
    "OrderRules",
    "ShippingRules",
    "ShopChannelConfig",
    "ShopifyChannelConfig",
    "ShopifyCredentials",
    "ShopwareChannelConfig",
    "ShopwareCredentials",
    "StatusOptions",
    "WooCommerceChannelConfig",
    "WooCommerceCredentials",
    "load_config",
]
