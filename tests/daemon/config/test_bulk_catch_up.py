"""``bulk_catch_up_after`` (Shopify channels): a duration with its unit, long enough not to turn ordinary
cycles into bulk operations; it reaches the engine as the orders flow's catch-up threshold."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import ConfigErrors, load_config
from daemon.wiring.clients import build_channel
from daemon.wiring.settings import channel_settings
from tests.daemon.config.sample import ENV, merchant_toml, write


def _load(tmp_path: Path, line: str) -> float | None:
    line, _, extra = line.partition("\n")
    text = merchant_toml(extra=extra).replace('kind = "shopify"\n', f'kind = "shopify"\n{line}\n')
    config = load_config(write(tmp_path, "acme.toml", text), environ=ENV)
    [channel] = config.merchants[0].enabled_channels
    return channel_settings(channel).cursor.catch_up_after_s


def _problem(tmp_path: Path, line: str) -> str:
    with pytest.raises(ConfigErrors) as caught:
        _load(tmp_path, line)
    [problem] = caught.value.problems
    return f"{problem.key}: {problem.message}"


def test_six_hours_by_default_and_any_unit(tmp_path: Path) -> None:
    assert _load(tmp_path, "") == 6 * 3600
    assert _load(tmp_path, 'bulk_catch_up_after = "90m"') == 5400
    assert _load(tmp_path, 'bulk_catch_up_after = "2d"') == 2 * 86400


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("bulk_catch_up_after = 3600", 'must be a duration string such as "90m", "6h" or "2d"'),
        ('bulk_catch_up_after = "6 hours"', 'must be a number with a unit s, m, h or d (e.g. "6h")'),
        ('bulk_catch_up_after = "5m"', "greater than or equal to 900"),
        (
            'bulk_catch_up_after = "20m"\n[channels.cursor]\noverlap_s = 1200',
            "bulk_catch_up_after (1200 s) must be longer than cursor.overlap_s + intervals.orders (1260 s)",
        ),
    ],
)
def test_a_bad_value_says_what_is_wrong(tmp_path: Path, line: str, expected: str) -> None:
    assert expected in _problem(tmp_path, line)


def test_other_shops_have_no_such_key(tmp_path: Path) -> None:
    text = merchant_toml().replace('kind = "shopify"', 'kind = "shopware"\nbulk_catch_up_after = "6h"')
    with pytest.raises(ConfigErrors) as caught:
        load_config(write(tmp_path, "acme.toml", text), environ=ENV)
    assert any("bulk_catch_up_after" in p.key for p in caught.value.problems)


def _channel_threshold(tmp_path: Path, line: str) -> int:
    text = merchant_toml().replace('kind = "shopify"\n', f'kind = "shopify"\n{line}\n')
    config = load_config(write(tmp_path, "acme.toml", text), environ=ENV)
    [channel] = config.merchants[0].enabled_channels
    shop = build_channel(channel)
    return int(shop.bulk_read_min_orders)  # type: ignore[attr-defined]


def test_bulk_read_min_orders_reaches_the_shopify_channel(tmp_path: Path) -> None:
    assert _channel_threshold(tmp_path, "") == 50
    assert _channel_threshold(tmp_path, "bulk_read_min_orders = 500") == 500
    assert "greater than or equal to 1" in _problem(tmp_path, "bulk_read_min_orders = 0")
