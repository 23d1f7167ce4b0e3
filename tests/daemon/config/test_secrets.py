from __future__ import annotations

import os
from pathlib import Path

import pytest
from loguru import logger

from daemon.config import ConfigErrors, ShopifyChannelConfig, load_config
from daemon.secrets import redact
from tests.daemon.config.sample import ENV, merchant_toml, write


def _errors(path: Path, environ: dict[str, str]) -> ConfigErrors:
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, environ=environ)
    return caught.value


def test_env_secret_resolves_and_never_shows(tmp_path: Path) -> None:
    lines: list[str] = []
    sink = logger.add(lines.append, level="TRACE", format="{message}")
    try:
        config = load_config(write(tmp_path, "a.toml", merchant_toml()), environ=ENV)
        # a second file with a mistake elsewhere: the error text must not carry the resolved secrets either
        broken = merchant_toml().replace('fulfiller_id = "FULF"', 'fulfiller_id = "FULFIL"')
        errors = _errors(write(tmp_path, "b.toml", broken), ENV)
    finally:
        logger.remove(sink)
    channel = config.merchants[0].channel("shop")
    assert isinstance(channel, ShopifyChannelConfig)
    assert channel.credentials.access_token.reveal() == ENV["SHOP_TOKEN"]
    assert config.merchants[0].ffn.client_secret.reveal() == ENV["FFN_SECRET"]
    assert config.merchants[0].ffn.client_secret.source == "env:FFN_SECRET"
    everything = [repr(config), str(config), str(errors), repr(errors), config.fingerprint(), *lines]
    for value in ENV.values():
        assert all(value not in text for text in everything)
        assert redact(f"x {value} y") == "x *** y"  # registered for redaction in logs
    assert lines, "the loader logs what it loaded"


def test_inline_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    inline = "shpat_pasted-inline-0042"
    text = merchant_toml().replace('access_token = "env:SHOP_TOKEN"', f'access_token = "{inline}"')
    errors = _errors(write(tmp_path, "a.toml", text), ENV)
    (problem,) = errors.problems
    assert problem.key == "channels[0].credentials.access_token"
    assert problem.message == "inline secret: use env:NAME or file:/path (systemd LoadCredential=)"
    assert inline not in str(errors)


def test_missing_env_vars_are_named_all_at_once(tmp_path: Path) -> None:
    errors = _errors(write(tmp_path, "a.toml", merchant_toml()), {})
    assert [(p.key, p.message) for p in errors.problems] == [
        ("ffn.client_secret", "environment variable FFN_SECRET is not set (referenced as env:FFN_SECRET)"),
        (
            "channels[0].credentials.access_token",
            "environment variable SHOP_TOKEN is not set (referenced as env:SHOP_TOKEN)",
        ),
    ]


@pytest.mark.parametrize("placeholder", ["CHANGE-ME", "changeme", "<your token>", "XXXX", "TODO"])
def test_placeholder_values_are_refused(tmp_path: Path, placeholder: str) -> None:
    errors = _errors(write(tmp_path, "a.toml", merchant_toml()), {**ENV, "SHOP_TOKEN": placeholder})
    assert [(p.key, p.message) for p in errors.problems] == [
        (
            "channels[0].credentials.access_token",
            "env:SHOP_TOKEN holds a placeholder value: put the real value there",
        )
    ]


def test_placeholder_in_plain_value_is_refused(tmp_path: Path) -> None:
    text = merchant_toml().replace('client_id = "client-1"', 'client_id = "CHANGE-ME"')
    errors = _errors(write(tmp_path, "a.toml", text), ENV)
    assert [(p.key, p.message) for p in errors.problems] == [
        ("ffn.client_id", "placeholder value: replace it with the real value")
    ]


def test_file_secret_is_read_and_one_newline_dropped(tmp_path: Path) -> None:
    secret_file = tmp_path / "creds" / "token"
    secret_file.parent.mkdir()
    secret_file.write_text("shpat_from-file-5511\n\n")
    relative = tmp_path / "relative_token"
    relative.write_text("ffn-relative-secret\n")
    text = (
        merchant_toml()
        .replace('"env:SHOP_TOKEN"', f'"file:{secret_file}"')
        .replace('"env:FFN_SECRET"', '"file:relative_token"')
    )
    config = load_config(write(tmp_path, "a.toml", text), environ={})
    merchant = config.merchants[0]
    channel = merchant.channel("shop")
    assert isinstance(channel, ShopifyChannelConfig)
    assert channel.credentials.access_token.reveal() == "shpat_from-file-5511\n"
    assert merchant.ffn.client_secret.reveal() == "ffn-relative-secret"
    assert "shpat_from-file" not in repr(config)


def test_unreadable_or_empty_secret_file_names_the_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    missing = tmp_path / "missing"
    text = (
        merchant_toml()
        .replace('"env:SHOP_TOKEN"', f'"file:{missing}"')
        .replace('"env:FFN_SECRET"', f'"file:{empty}"')
    )
    errors = _errors(write(tmp_path, "a.toml", text), {})
    assert [(p.key, p.message) for p in errors.problems] == [
        ("ffn.client_secret", f"secret file {empty} is empty"),
        (
            "channels[0].credentials.access_token",
            f"cannot read secret file {missing}: No such file or directory",
        ),
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_permission_denied_secret_file(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.write_text("secret-value")
    locked.chmod(0)
    text = merchant_toml().replace('"env:SHOP_TOKEN"', f'"file:{locked}"')
    errors = _errors(write(tmp_path, "a.toml", text), ENV)
    assert errors.problems[0].message == f"cannot read secret file {locked}: Permission denied"


def test_bad_reference_and_wrong_type(tmp_path: Path) -> None:
    text = (
        merchant_toml()
        .replace('"env:SHOP_TOKEN"', '"env:SHOP-TOKEN"')
        .replace('client_secret = "env:FFN_SECRET"', "client_secret = 1234")
    )
    errors = _errors(write(tmp_path, "a.toml", text), ENV)
    assert [(p.key, p.message) for p in errors.problems] == [
        ("ffn.client_secret", "must be a string: env:NAME or file:/path"),
        (
            "channels[0].credentials.access_token",
            "env:SHOP-TOKEN is not a valid environment variable name (letters, digits, _)",
        ),
    ]


def test_optional_dsn_secret(tmp_path: Path) -> None:
    text = merchant_toml(extra='[database]\ndsn = "env:DSN"\n')
    config = load_config(
        write(tmp_path, "a.toml", text), environ={**ENV, "DSN": "postgresql://u:pw-9911@h/db"}
    )
    assert config.database.dsn is not None
    assert config.database.dsn.reveal() == "postgresql://u:pw-9911@h/db"
    assert "pw-9911" not in repr(config)
    assert load_config(write(tmp_path, "b.toml", merchant_toml()), environ=ENV).database.dsn is None
