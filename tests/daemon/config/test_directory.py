from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import ConfigErrors, load_config
from tests.daemon.config.sample import ENV, merchant_toml, write


def test_directory_of_two_merchants_sorted(tmp_path: Path) -> None:
    write(tmp_path, "20-beta.toml", merchant_toml("beta"))
    write(tmp_path, "10-acme.toml", merchant_toml("acme", extra='[logging]\nlevel = "debug"\n'))
    write(tmp_path, "README.md", "not a merchant")
    config = load_config(tmp_path, environ=ENV)
    assert [m.id for m in config.merchants] == ["acme", "beta"]
    assert [p.name for p in config.sources] == ["10-acme.toml", "20-beta.toml"]
    assert [m.source.name for m in config.merchants] == ["10-acme.toml", "20-beta.toml"]
    assert config.logging.level == "DEBUG"  # a section in one file applies to the process


def test_process_wide_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "a.toml", merchant_toml()), environ=ENV)
    assert (config.logging.level, config.logging.format) == ("INFO", "human")
    assert (config.metrics.enabled, config.metrics.host, config.metrics.port) == (True, "127.0.0.1", 9464)
    assert config.daemon.state_dir == Path("/var/lib/ffn-sync")
    assert (config.database.pool_min, config.database.pool_max) == (1, 10)
    channel = config.merchants[0].channel("shop")
    assert (channel.intervals.orders, channel.intervals.products, channel.intervals.stock) == (60, 300, 900)
    assert (channel.cursor.overlap_s, channel.cursor.lag_s) == (120, 5)
    ffn = config.merchants[0].ffn
    assert (ffn.cursor.overlap_s, ffn.cursor.lag_s, ffn.intervals.reconcile) == (120, 10, 3600)


def test_relative_state_dir_is_relative_to_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "a.toml", merchant_toml(extra='[daemon]\nstate_dir = "state"\n'))
    assert load_config(path, environ=ENV).daemon.state_dir == tmp_path / "state"


def test_equal_process_sections_in_several_files_are_fine(tmp_path: Path) -> None:
    same = '[metrics]\nport = 9500\n[logging]\nformat = "json"\n'
    write(tmp_path, "a.toml", merchant_toml("acme", extra=same))
    write(tmp_path, "b.toml", merchant_toml("beta", extra="[metrics]\nport = 9500\nenabled = true\n"))
    config = load_config(tmp_path, environ=ENV)
    assert (config.metrics.port, config.logging.format) == (9500, "json")


def test_conflicting_process_sections_name_both_files(tmp_path: Path) -> None:
    first = write(tmp_path, "a.toml", merchant_toml("acme", extra="[database]\npool_max = 5\n"))
    # the second file also has an unrelated mistake: the conflict is still reported
    text = merchant_toml("beta", extra="[database]\npool_max = 20\npool_min = 2\n").replace(
        'fulfiller_id = "FULF"', 'fulfiller_id = "F"'
    )
    second = write(tmp_path, "b.toml", text)
    with pytest.raises(ConfigErrors) as caught:
        load_config(tmp_path, environ=ENV)
    assert [(p.file, p.key) for p in caught.value.problems] == [
        (second, "merchant.fulfiller_id"),
        (second, "database"),
    ]
    message = caught.value.problems[1].message
    assert str(first) in message
    assert "database.pool_min, database.pool_max" in message


def test_conflicting_dsn_does_not_reveal_either(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", merchant_toml("acme", extra='[database]\ndsn = "env:DSN_A"\n'))
    write(tmp_path, "b.toml", merchant_toml("beta", extra='[database]\ndsn = "env:DSN_B"\n'))
    environ = {**ENV, "DSN_A": "postgresql://a:pw-aaaa@h/db", "DSN_B": "postgresql://b:pw-bbbb@h/db"}
    with pytest.raises(ConfigErrors) as caught:
        load_config(tmp_path, environ=environ)
    text = str(caught.value)
    assert "database.dsn" in text
    assert "pw-aaaa" not in text
    assert "pw-bbbb" not in text


def test_merchant_ids_unique_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "a.toml", merchant_toml("acme"))
    second = write(tmp_path, "b.toml", merchant_toml("acme"))
    with pytest.raises(ConfigErrors) as caught:
        load_config(tmp_path, environ=ENV)
    assert [(p.file, p.key, p.message) for p in caught.value.problems] == [
        (second, "merchant.id", f"merchant id 'acme' is also used in {first}")
    ]


def test_problems_of_every_file_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", "[merchant\n")
    write(tmp_path, "b.toml", merchant_toml("beta").replace('kind = "shopify"', 'kind = "ebay"'))
    with pytest.raises(ConfigErrors) as caught:
        load_config(tmp_path, environ=ENV)
    assert [(p.file.name, p.key) for p in caught.value.problems] == [
        ("a.toml", ""),
        ("b.toml", "channels[0].kind"),
    ]
    assert str(caught.value).count("\n") == 1
