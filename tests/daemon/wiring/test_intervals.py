"""Every interval key of a merchant file sets the interval of exactly the job it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loguru import logger

from daemon.config import load_config
from daemon.engine.context import MerchantContext
from daemon.engine.jobs import merchant_jobs
from daemon.jobrunner import BackoffPolicy, JobRunner
from daemon.wiring.settings import intervals, merchant_settings
from tests.daemon.config.sample import ENV, merchant_toml, write
from tests.daemon.engine.fakes import FakeFulfiller, FakeShop

INTERVALS = """
[channels.intervals]
orders = 11
products = 12
stock = 13
[ffn.intervals]
shipments = 21
status = 22
stock = 23
reconcile = 24
"""


def _context(merchant: Any) -> MerchantContext:
    return MerchantContext(
        settings=merchant_settings(merchant),
        pool=None,  # type: ignore[arg-type]  # building jobs touches no database
        fulfiller=FakeFulfiller(),
        channels={"shop": FakeShop()},
    )


def test_each_interval_key_drives_its_own_job(tmp_path: Path) -> None:
    (merchant,) = load_config(
        write(tmp_path, "a.toml", merchant_toml(extra=INTERVALS)), environ=ENV
    ).merchants
    ctx = _context(merchant)
    jobs = {job.name: job.interval_s for job in merchant_jobs(ctx, intervals(merchant))}
    assert jobs == {
        "acme/shop/orders": 11,
        "acme/shop/products": 12,
        "acme/shop/stock": 13,  # [channels.intervals] stock: this shop's stock writer
        "acme/ffn/shipments": 21,
        "acme/ffn/status": 22,
        "acme/ffn/stock": 23,  # [ffn.intervals] stock: reading FFN's stock changes
        "acme/ffn/reconcile": 24,
        "acme/ffn/purge": 6 * 3600,
    }


def test_a_products_interval_on_a_shop_that_is_not_the_product_master_is_a_warning(tmp_path: Path) -> None:
    second_shop = """
[[channels]]
name = "other"
kind = "shopify"
order_prefix = "OT-"
base_url = "http://127.0.0.1:9003"
[channels.credentials]
access_token = "env:SHOP_TOKEN"
location_id = "gid://shopify/Location/1"
[channels.orders]
import_since = 2026-01-01T00:00:00Z
[channels.shipping]
default = "FULF0A0001"
[channels.intervals]
products = 600
"""
    lines: list[str] = []
    sink = logger.add(lines.append, level="WARNING", format="{message}")
    try:
        config = load_config(write(tmp_path, "a.toml", merchant_toml(extra=second_shop)), environ=ENV)
    finally:
        logger.remove(sink)
    assert len(config.merchants) == 1  # still loads
    assert [line.strip() for line in lines] == [
        f"config: {tmp_path / 'a.toml'}: channels[1].intervals.products: has no effect: products are read "
        "from the product_master channel ('shop') only; remove the key"
    ]


def test_a_shop_s_stock_job_backs_off_from_its_retry_time_not_from_its_safety_interval(
    tmp_path: Path,
) -> None:
    """The shop stock interval (default 900 s) is a safety net: three failures of a short outage must not
    stop the shop's stock writes for 15 minutes (as 3 failures of a 60 s job: 2 minutes)."""
    (merchant,) = load_config(write(tmp_path, "a.toml", merchant_toml()), environ=ENV).merchants
    ctx = _context(merchant)
    specs = {job.name: job for job in merchant_jobs(ctx, intervals(merchant))}
    stock = specs["acme/shop/stock"]
    assert stock.interval_s == 900
    runner = JobRunner(stock, policy=BackoffPolicy())
    for _ in range(3):
        runner._failed(RuntimeError("shop answered 503"))
    assert runner.backoff_until is not None and runner.last_failure is not None
    assert (runner.backoff_until - runner.last_failure).total_seconds() == 120
    orders = JobRunner(specs["acme/shop/orders"], policy=BackoffPolicy())
    for _ in range(3):
        orders._failed(RuntimeError("shop answered 503"))
    assert orders.backoff_until is not None and orders.last_failure is not None
    assert (orders.backoff_until - orders.last_failure).total_seconds() == 120  # 60 s interval: as before
