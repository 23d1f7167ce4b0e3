"""Checks that span fields or files. They read the raw TOML data, so they still run (and report) when
pydantic has already found other mistakes in the same file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from daemon.config.credentials import ShopifyCredentials
from daemon.config.merchant import MerchantFile
from daemon.config.problems import ConfigProblem
from daemon.config.process import MetricsConfig
from daemon.config.types import Section
from daemon.config.webhooks import WebhooksConfig


def channel_problems(raw: Mapping[str, Any], file: Path) -> list[ConfigProblem]:
    problems = []
    first_index: dict[str, int] = {}
    channels = raw.get("channels")
    if channels == []:
        problems.append(ConfigProblem(file, "channels", "at least one [[channels]] table is required"))
    for index, channel in enumerate(channels if isinstance(channels, list) else ()):
        name = channel.get("name") if isinstance(channel, Mapping) else None
        if not isinstance(name, str):
            continue
        if name in first_index:
            message = f"duplicate channel name {name!r} (also channels[{first_index[name]}].name)"
            problems.append(ConfigProblem(file, f"channels[{index}].name", message))
        else:
            first_index[name] = index
    merchant = raw.get("merchant")
    master = merchant.get("product_master") if isinstance(merchant, Mapping) else None
    if isinstance(master, str) and master not in first_index:
        known = ", ".join(repr(name) for name in first_index) or "none"
        message = f"no channel named {master!r} in this file (channels: {known})"
        problems.append(ConfigProblem(file, "merchant.product_master", message))
    return problems


def ineffective_keys(raw: Mapping[str, Any], file: Path) -> list[ConfigProblem]:
    """Keys that are valid but do nothing where they stand: reported as warnings, the file still loads."""
    merchant = raw.get("merchant")
    master = merchant.get("product_master") if isinstance(merchant, Mapping) else None
    channels = raw.get("channels")
    found = []
    for index, channel in enumerate(channels if isinstance(channels, list) else ()):
        if not isinstance(channel, Mapping) or channel.get("name") == master:
            continue
        intervals = channel.get("intervals")
        if isinstance(intervals, Mapping) and "products" in intervals:
            where = (
                f"the product_master channel ({master!r})"
                if master
                else "a product_master channel (none is set)"
            )
            message = f"has no effect: products are read from {where} only; remove the key"
            found.append(ConfigProblem(file, f"channels[{index}].intervals.products", message))
    return found


def merchant_id_problems(raws: Sequence[tuple[Path, Mapping[str, Any]]]) -> list[ConfigProblem]:
    problems = []
    first_file: dict[str, Path] = {}
    for file, raw in raws:
        merchant = raw.get("merchant")
        merchant_id = merchant.get("id") if isinstance(merchant, Mapping) else None
        if not isinstance(merchant_id, str):
            continue
        if merchant_id in first_file:
            message = f"merchant id {merchant_id!r} is also used in {first_file[merchant_id]}"
            problems.append(ConfigProblem(file, "merchant.id", message))
        else:
            first_file[merchant_id] = file
    return problems


def process_section_problems(
    sections: Sequence[tuple[Path, Mapping[str, Section]]],
) -> list[ConfigProblem]:
    """Process-wide sections may be repeated across files (each file stays self-contained), never varied."""
    problems = []
    first: dict[str, tuple[Path, Section]] = {}
    for file, by_name in sections:
        for name, section in by_name.items():
            if name not in first:
                first[name] = (file, section)
                continue
            first_file, first_section = first[name]
            if section == first_section:
                continue
            differing = [
                f"{name}.{field}"
                for field in type(section).model_fields
                if getattr(section, field) != getattr(first_section, field)
            ]
            message = (
                f"[{name}] differs from the one in {first_file} ({', '.join(differing)}): "
                "process-wide sections must be identical in every file that has them"
            )
            problems.append(ConfigProblem(file, name, message))
    return problems


def webhook_problems(
    parsed: Sequence[tuple[Path, MerchantFile]], sections: Sequence[tuple[Path, Mapping[str, Section]]]
) -> list[ConfigProblem]:
    """Channels with webhooks on need the receiver's public address and (Shopify) the signing secret."""
    found = {name: (file, section) for file, by_name in sections for name, section in by_name.items()}
    receiver = found.get("webhooks")
    webhooks = receiver[1] if receiver is not None else None
    problems = []
    if receiver is not None and isinstance(webhooks, WebhooksConfig):
        metrics = found["metrics"][1] if "metrics" in found else MetricsConfig()
        if (
            isinstance(metrics, MetricsConfig)
            and metrics.enabled
            and (metrics.host, metrics.port) == (webhooks.host, webhooks.port)
        ):
            message = f"{webhooks.host}:{webhooks.port} is also [metrics]' address: pick another port"
            problems.append(ConfigProblem(receiver[0], "webhooks.port", message))
    public_url = webhooks.public_url if isinstance(webhooks, WebhooksConfig) else None
    for file, merchant_file in parsed:
        for index, channel in enumerate(merchant_file.channels):
            key = f"channels[{index}]"
            credentials = channel.credentials
            if isinstance(credentials, ShopifyCredentials):
                if credentials.webhook_secret_previous and not credentials.webhook_secret:
                    message = "only valid next to webhook_secret (the new secret during a rotation)"
                    problems.append(
                        ConfigProblem(file, f"{key}.credentials.webhook_secret_previous", message)
                    )
            if not (channel.enabled and channel.webhooks.enabled):
                continue
            if public_url is None:
                message = (
                    "webhooks are on, but [webhooks] public_url is not set: give the https:// address the "
                    "shop reaches this process at (through the reverse proxy), or set webhooks = false"
                )
                problems.append(ConfigProblem(file, f"{key}.webhooks", message))
            if isinstance(credentials, ShopifyCredentials) and credentials.webhook_secret is None:
                message = (
                    "required when webhooks are on: the app's client secret (API secret key), which Shopify "
                    "signs deliveries with, as env:NAME or file:/path"
                )
                problems.append(ConfigProblem(file, f"{key}.credentials.webhook_secret", message))
    return problems
