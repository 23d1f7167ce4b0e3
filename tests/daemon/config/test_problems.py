from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import ConfigErrors, load_config
from tests.daemon.config.sample import ENV, merchant_toml, write


def _problems(path: Path, environ: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, environ=ENV if environ is None else environ)
    return [(p.file.name, p.key, p.message) for p in caught.value.problems]


def _keys(path: Path) -> list[str]:
    return [key for _, key, _ in _problems(path)]


def test_valid_sample_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "acme.toml", merchant_toml()), environ=ENV)
    assert [m.id for m in config.merchants] == ["acme"]


def test_three_mistakes_are_all_reported_with_file_and_dotted_key(tmp_path: Path) -> None:
    text = (
        merchant_toml()
        .replace('ffn_merchant_id = "MERC"', 'ffn_merchant_id = "MERCH"')
        .replace(
            'location_id = "gid://shopify/Location/1"', 'location_id = "gid://shopify/Location/1"\nacess = 1'
        )
        .replace('"Express Plus" = "FULF0A0002"', '"Express Plus" = ""')
    )
    path = write(tmp_path, "acme.toml", text)
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, environ=ENV)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert any(line.startswith(f"{path}: merchant.ffn_merchant_id: must be exactly 4") for line in lines)
    assert f"{path}: channels[0].credentials.acess: unknown key (did you mean 'access_token'?)" in lines
    assert any(line.startswith(f'{path}: channels[0].shipping.map."Express Plus": ') for line in lines)


def test_unknown_keys_are_rejected_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "a.toml", merchant_toml() + "\n[metrics]\nport = 9464\nbind = '0.0.0.0'\n")
    assert _problems(path) == [("a.toml", "metrics.bind", "unknown key (allowed here: enabled, host, port)")]
    top = write(tmp_path, "b.toml", "chanels = []\n" + merchant_toml())
    assert _problems(top) == [("b.toml", "chanels", "unknown key (did you mean 'channels'?)")]


def test_toml_syntax_error_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "a.toml", '[merchant]\nid = "acme"\nwarehouse_id "x"\n')
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, environ=ENV)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (3, 14)
    assert str(problem).startswith(f"{path}:3:14: TOML syntax error at line 3, column 14: ")


def test_credentials_follow_the_channel_kind(tmp_path: Path) -> None:
    text = merchant_toml().replace('kind = "shopify"', 'kind = "woocommerce"')
    problems = _problems(write(tmp_path, "a.toml", text))
    assert ("a.toml", "channels[0].credentials.consumer_key", "required") in problems
    assert ("a.toml", "channels[0].credentials.consumer_secret", "required") in problems
    unknown = {key for _, key, message in problems if message.startswith("unknown key")}
    assert unknown == {"channels[0].credentials.access_token", "channels[0].credentials.location_id"}


def test_shopware_needs_client_id_and_secret(tmp_path: Path) -> None:
    text = merchant_toml().replace('kind = "shopify"', 'kind = "shopware"')
    keys = _keys(write(tmp_path, "a.toml", text))
    assert "channels[0].credentials.client_id" in keys
    assert "channels[0].credentials.client_secret" in keys


def test_unknown_or_missing_kind(tmp_path: Path) -> None:
    text = merchant_toml().replace('kind = "shopify"', 'kind = "magento"')
    assert _problems(write(tmp_path, "a.toml", text)) == [
        ("a.toml", "channels[0].kind", "unknown kind 'magento': use one of shopify, shopware, woocommerce")
    ]
    text = merchant_toml().replace('kind = "shopify"', "")
    assert _keys(write(tmp_path, "b.toml", text)) == ["channels[0].kind"]


def test_cross_field_checks(tmp_path: Path) -> None:
    second = '\n[[channels]]\nname = "shop"\nkind = "shopify"\nbase_url = "http://127.0.0.1:1"\n'
    text = merchant_toml().replace('product_master = "shop"', 'product_master = "shopp"') + second
    problems = _problems(write(tmp_path, "a.toml", text))
    assert ("a.toml", "channels[1].name", "duplicate channel name 'shop' (also channels[0].name)") in problems
    assert (
        "a.toml",
        "merchant.product_master",
        "no channel named 'shopp' in this file (channels: 'shop')",
    ) in problems
    # the second channel's own gaps are reported in the same pass
    assert ("a.toml", "channels[1].credentials", "required") in problems
    assert ("a.toml", "channels[1].orders", "required") in problems


def test_field_rules(tmp_path: Path) -> None:
    text = (
        merchant_toml()
        .replace('warehouse_id = "FULF04XX-12345-0001"', 'warehouse_id = "FULF04XX"')
        .replace('id = "acme"', 'id = "Acme Inc"')
        .replace("[channels.orders]", "[channels.intervals]\norders = 0\nstock = -5\n[channels.orders]")
        .replace('client_id = "client-1"', 'client_id = "client-1"\nmax_concurrency = "4"')
    )
    keys = _keys(write(tmp_path, "a.toml", text))
    assert sorted(keys) == sorted(
        [
            "merchant.id",
            "merchant.warehouse_id",
            "ffn.max_concurrency",
            "channels[0].intervals.orders",
            "channels[0].intervals.stock",
        ]
    )


def test_import_since_is_required_and_needs_a_zone(tmp_path: Path) -> None:
    text = merchant_toml().replace(
        "import_since = 2026-01-01T00:00:00Z", "import_since = 2026-01-01T00:00:00"
    )
    assert _keys(write(tmp_path, "a.toml", text)) == ["channels[0].orders.import_since"]
    text = merchant_toml().replace("import_since = 2026-01-01T00:00:00Z", "hold_minutes = 5")
    assert _problems(write(tmp_path, "b.toml", text)) == [
        ("b.toml", "channels[0].orders.import_since", "required")
    ]


def test_empty_channel_list_and_missing_sections(tmp_path: Path) -> None:
    path = write(tmp_path, "a.toml", '[merchant]\nid = "acme"\nchannels = []\n')
    problems = _problems(path)
    assert (
        "a.toml",
        "merchant.channels",
        "unknown key (allowed here: id, ffn_merchant_id, warehouse_id, fulfiller_id, product_master, personal_data_days)",
    ) in problems
    assert ("a.toml", "ffn", "required") in problems
    assert ("a.toml", "channels", "required") in problems
    path = write(tmp_path, "b.toml", "channels = []\n" + merchant_toml().split("[[channels]]")[0])
    assert ("b.toml", "channels", "at least one [[channels]] table is required") in _problems(path)


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    assert _problems(tmp_path / "nope.toml") == [("nope.toml", "", "no such file or directory")]
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden.toml").write_text("x")
    assert _problems(tmp_path) == [(tmp_path.name, "", "directory contains no *.toml files")]


def test_wrong_shapes_get_plain_messages(tmp_path: Path) -> None:
    text = (
        'merchant = 5\nchannels = {name = "x"}\n[ffn]\nclient_id = "c"\nclient_secret = "env:FFN_SECRET"\n'
        'max_concurrency = "4"\n[daemon]\nstate_dir = ""\n'
    )
    assert _problems(write(tmp_path, "a.toml", text)) == [
        ("a.toml", "merchant", "must be a table"),
        ("a.toml", "ffn.max_concurrency", "must be a valid integer"),
        ("a.toml", "channels", "must be [[channels]] tables"),
        ("a.toml", "daemon.state_dir", "must not be empty"),
    ]


def test_a_shop_named_ffn_is_refused(tmp_path: Path) -> None:
    """The merchant's FFN-side jobs, cursors and health rows are keyed "ffn": a shop of that name would
    share them."""
    text = (
        merchant_toml()
        .replace('name = "shop"', 'name = "FFN"')
        .replace('product_master = "shop"', 'product_master = "FFN"')
    )
    ((_, key, message),) = _problems(write(tmp_path, "a.toml", text))
    assert key == "channels[0].name"
    assert "FFN-side flows" in message and "another name" in message
