"""Config models → the engine's settings. Pure."""

from __future__ import annotations

from daemon.config import MerchantConfig
from daemon.config.channels import ShopChannelConfig, ShopifyChannelConfig
from daemon.engine.jobs import Intervals
from daemon.engine.settings import ChannelSettings, CursorSettings, EligibilityRules, MerchantSettings


def channel_settings(channel: ShopChannelConfig) -> ChannelSettings:
    rules = channel.orders
    return ChannelSettings(
        name=channel.name,
        kind=channel.kind,
        order_prefix=channel.order_prefix,
        stock_buffer=channel.stock_buffer,
        eligibility=EligibilityRules(
            payment_states=frozenset(rules.payment_states),
            payment_methods=frozenset(rules.payment_methods),
            hold_minutes=float(rules.hold_minutes),
            skip_tags=frozenset(rules.skip_tags),
            import_since=rules.import_since,
            statuses=frozenset(channel.export_statuses),
        ),
        shipping_map=dict(channel.shipping.map),
        default_shipping_method=channel.shipping.default,
        cancel_in_shop=channel.status.cancel_in_shop,
        cursor=CursorSettings(
            overlap_s=channel.cursor.overlap_s,
            lag_s=channel.cursor.lag_s,
            catch_up_after_s=channel.bulk_catch_up_after
            if isinstance(channel, ShopifyChannelConfig)
            else None,
        ),
    )


def merchant_settings(merchant: MerchantConfig) -> MerchantSettings:
    return MerchantSettings(
        merchant_id=merchant.id,
        ffn_merchant_id=merchant.ffn_merchant_id,
        warehouse_id=merchant.warehouse_id,
        channels=tuple(channel_settings(c) for c in merchant.enabled_channels),
        product_master=merchant.product_master,
        personal_data_days=merchant.personal_data_days,
        ffn_cursor=CursorSettings(overlap_s=merchant.ffn.cursor.overlap_s, lag_s=merchant.ffn.cursor.lag_s),
    )


def intervals(merchant: MerchantConfig) -> Intervals:
    """Each ``intervals`` table's keys are the names of the flows they time."""
    return Intervals(
        channels={c.name: dict(c.intervals.model_dump()) for c in merchant.enabled_channels},
        merchant=dict(merchant.ffn.intervals.model_dump()),
    )
