"""``[webhooks]`` and the channels' ``webhooks`` switch: defaults, both spellings, and each refusal by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import ConfigErrors, load_config
from tests.daemon.config.sample import ENV, merchant_toml, write

HOOK_ENV = {**ENV, "SHOP_APP_SECRET": "app-secret-value-55aa", "SHOP_OLD_SECRET": "old-secret-value-66bb"}
RECEIVER = '\n[webhooks]\npublic_url = "https://sync.example.com/ffn/"\n'
SECRET = 'location_id = "gid://shopify/Location/1"\nwebhook_secret = "env:SHOP_APP_SECRET"'


def _with(text: str, *, channel: str = "", receiver: str = RECEIVER, secret: bool = True) -> str:
    # The channel's own keys go before its sub-tables, right after base_url.
    base = 'base_url = "http://127.0.0.1:9002"'
    text = merchant_toml().replace(base, f"{base}\n{channel}")
    if secret:
        text = text.replace('location_id = "gid://shopify/Location/1"', SECRET)
    return text + receiver


def _problems(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, environ=HOOK_ENV)
    return [(p.key, p.message) for p in caught.value.problems]


def test_defaults_listen_on_loopback_with_webhooks_off(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "a.toml", merchant_toml()), environ=ENV)
    assert (config.webhooks.host, config.webhooks.port, config.webhooks.max_body_bytes) == (
        "127.0.0.1",
        9465,
        1024 * 1024,
    )
    assert config.webhooks.public_url is None
    assert config.merchants[0].channels[0].webhooks.enabled is False


def test_switch_and_table_spellings(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "a.toml", _with("", channel="webhooks = true")), environ=HOOK_ENV)
    channel = config.merchants[0].channels[0]
    assert channel.webhooks.enabled is True
    assert config.webhooks.public_url == "https://sync.example.com/ffn"
    table = _with("", channel="") + "\n"
    table = table.replace(
        "[channels.orders]", "[channels.webhooks]\nexpected_every_s = 600\n\n[channels.orders]", 1
    )
    config = load_config(write(tmp_path, "b.toml", table), environ=HOOK_ENV)
    hooks = config.merchants[0].channels[0].webhooks
    assert (hooks.enabled, hooks.expected_every_s) == (True, 600.0)


def test_secrets_are_references_and_never_shown(tmp_path: Path) -> None:
    text = _with("", channel="webhooks = true").replace(
        SECRET, SECRET + '\nwebhook_secret_previous = "env:SHOP_OLD_SECRET"'
    )
    config = load_config(write(tmp_path, "a.toml", text), environ=HOOK_ENV)
    creds = config.merchants[0].channels[0].credentials
    assert creds.webhook_secret is not None and creds.webhook_secret.reveal() == "app-secret-value-55aa"  # type: ignore[union-attr]
    assert "app-secret-value" not in repr(config) and "old-secret-value" not in repr(config)
    inline = _with("", channel="webhooks = true").replace('"env:SHOP_APP_SECRET"', '"shpss_inline"')
    ((key, message),) = _problems(write(tmp_path, "b.toml", inline))
    assert key == "channels[0].credentials.webhook_secret" and "inline secret" in message
    assert "shpss_inline" not in message


def test_webhooks_on_without_public_url_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a.toml", _with("", channel="webhooks = true", receiver=""))
    ((key, message),) = _problems(path)
    assert key == "channels[0].webhooks"
    assert "public_url is not set" in message


def test_shopify_webhooks_need_the_signing_secret(tmp_path: Path) -> None:
    path = write(tmp_path, "a.toml", _with("", channel="webhooks = true", secret=False))
    ((key, message),) = _problems(path)
    assert key == "channels[0].credentials.webhook_secret"
    assert "client secret" in message


def test_previous_secret_alone_is_refused(tmp_path: Path) -> None:
    text = _with("", secret=False).replace(
        'location_id = "gid://shopify/Location/1"',
        'location_id = "gid://shopify/Location/1"\nwebhook_secret_previous = "env:SHOP_OLD_SECRET"',
    )
    assert [key for key, _ in _problems(write(tmp_path, "a.toml", text))] == [
        "channels[0].credentials.webhook_secret_previous"
    ]


@pytest.mark.parametrize(
    ("receiver", "key", "fragment"),
    [
        ('public_url = "http://sync.example.com"', "webhooks.public_url", "https://"),
        ('public_url = "ftp://x"', "webhooks.public_url", "http"),
        ('public_url = "https://s.example.com"\nport = 0', "webhooks.port", "greater than or equal to 1"),
        ('public_url = "https://s.example.com"\nmax_body_bytes = 10', "webhooks.max_body_bytes", "1024"),
        (
            'public_url = "https://s.example.com"\ntrusted_proxies = ["proxy"]',
            "webhooks.trusted_proxies[0]",
            "IP",
        ),
        ('public_url = "https://s.example.com"\nport = 9464', "webhooks.port", "[metrics]"),
        ('public_url = "https://s.example.com"\nlisten = "0.0.0.0"', "webhooks.listen", "unknown key"),
    ],
)
def test_bad_receiver_settings_are_named(tmp_path: Path, receiver: str, key: str, fragment: str) -> None:
    text = _with("", channel="webhooks = true", receiver=f"\n[webhooks]\n{receiver}\n")
    problems = _problems(write(tmp_path, "a.toml", text))
    assert any(k == key and fragment in m for k, m in problems), problems


def test_plain_http_is_fine_on_loopback(tmp_path: Path) -> None:
    text = _with(
        "", channel="webhooks = true", receiver='\n[webhooks]\npublic_url = "http://127.0.0.1:9465"\n'
    )
    config = load_config(write(tmp_path, "a.toml", text), environ=HOOK_ENV)
    assert config.webhooks.public_url == "http://127.0.0.1:9465"


def test_the_section_must_match_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", _with("", channel="webhooks = true"))
    other = merchant_toml("beta") + '\n[webhooks]\npublic_url = "https://other.example.com"\n'
    write(tmp_path, "b.toml", other)
    assert [key for key, _ in _problems(tmp_path)] == ["webhooks"]
