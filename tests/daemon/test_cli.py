from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from daemon.cli import build_parser, main
from daemon.cli.exitcodes import ExitCode
from daemon.cli.registry import discover
from daemon.runtime import build_empty_runtime

REPO = Path(__file__).resolve().parents[2]
SECRETS = {"FFN_SYNC_TEST_FFN_SECRET": "ffn-secret-0a1b2c", "FFN_SYNC_TEST_SHOP_SECRET": "shop-secret-3d4e5f"}


def merchant_toml(
    state_dir: Path,
    *,
    merchant: str = "acme",
    dsn_env: str | None = "FFN_SYNC_TEST_DSN",
    ffn_url: str = "http://127.0.0.1:1/api",
    channels: tuple[tuple[str, str], ...] = (("shop-main", "http://127.0.0.1:1"),),
    grace_s: int = 5,
) -> str:
    """A valid merchant file; the database comes from ``$FFN_SYNC_TEST_DSN`` unless ``dsn_env`` is None.

    The metrics endpoint is off: daemons of tests running in parallel would all bind its default port.
    """
    database = f'[database]\ndsn = "env:{dsn_env}"\n' if dsn_env else ""
    text = f"""
[merchant]
id = "{merchant}"
ffn_merchant_id = "MERC"
warehouse_id = "FULF04XX-12345-0001"
fulfiller_id = "FULF"

[daemon]
state_dir = "{state_dir}"
shutdown_grace_s = {grace_s}

[metrics]
enabled = false

{database}
[ffn]
base_url = "{ffn_url}"
client_id = "client-{merchant}"
client_secret = "env:FFN_SYNC_TEST_FFN_SECRET"
"""
    for name, url in channels:
        text += f"""
[[channels]]
name = "{name}"
kind = "shopware"
base_url = "{url}"
[channels.credentials]
client_id = "SWIAEXAMPLE"
client_secret = "env:FFN_SYNC_TEST_SHOP_SECRET"
[channels.orders]
import_since = 2026-01-01T00:00:00Z
"""
    return text


def daemon_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "JOURNAL_STREAM")
    }
    env.update(SECRETS, PYTHONUNBUFFERED="1", **extra)
    return env


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)


def test_exit_codes_are_distinct() -> None:
    values = [code.value for code in ExitCode]
    assert len(values) == len(set(values))
    assert (ExitCode.USAGE, ExitCode.DATA, ExitCode.UNAVAILABLE, ExitCode.SOFTWARE, ExitCode.CONFIG) == (
        64,
        65,
        69,
        70,
        78,
    )


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    names = [command.name for command in discover()]
    assert {"run", "once", "check", "migrate", "sandbox"} <= set(names)
    for name in names:
        with pytest.raises(SystemExit) as exited:
            main([name, "--help"])
        assert exited.value.code == 0
        assert f"usage: ffn-sync {name}" in capsys.readouterr().out


def test_global_options_work_before_and_after_the_subcommand() -> None:
    parser = build_parser()
    after = parser.parse_args(["run", "--config", "/tmp/x", "--log-format", "json", "--log-level", "debug"])
    before = parser.parse_args(["--config", "/tmp/x", "--log-format", "json", "run"])
    default = parser.parse_args(["once"])
    assert (after.config, after.log_format, after.log_level) == (Path("/tmp/x"), "json", "DEBUG")
    assert (before.config, before.log_format) == (Path("/tmp/x"), "json")
    assert (default.config, default.log_format, default.log_level) == (Path("/etc/ffn-sync"), None, None)


def test_python_dash_m_daemon_is_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "daemon", "--help"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "migrate" in done.stdout and "sandbox" in done.stdout


def test_missing_subcommand_is_a_usage_error() -> None:
    done = subprocess.run([sys.executable, "-m", "daemon"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == ExitCode.USAGE_ARGPARSE


def test_bad_config_exits_78_listing_every_problem(tmp_path: Path) -> None:
    text = merchant_toml(tmp_path / "state", dsn_env=None)
    text = text.replace('ffn_merchant_id = "MERC"', 'ffn_merchant_id = "TOO-LONG"')
    text = text.replace('kind = "shopware"', 'kind = "shopware"\nstock_bufer = 3')
    (tmp_path / "acme.toml").write_text(text)
    env = daemon_env()
    del env["FFN_SYNC_TEST_SHOP_SECRET"]

    done = subprocess.run(
        [sys.executable, "-m", "daemon", "run", "--config", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == ExitCode.CONFIG, done.stderr
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line and "acme.toml" in line]
    assert len(errors) == 3, done.stderr
    for key in (
        "merchant.ffn_merchant_id",
        "channels[0].stock_bufer",
        "channels[0].credentials.client_secret",
    ):
        assert any(key in line for line in errors), (key, done.stderr)


def test_once_with_the_empty_runtime_exits_0(
    tmp_path: Path,
    pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    secrets_env: None,
    restore_logging: None,
) -> None:
    (tmp_path / "acme.toml").write_text(merchant_toml(tmp_path / "state"))
    monkeypatch.setenv("FFN_SYNC_TEST_DSN", pg_dsn)
    monkeypatch.setattr("daemon.wiring.build_runtime", build_empty_runtime)

    assert main(["once", "--config", str(tmp_path)]) == ExitCode.OK


def test_once_exits_1_when_a_job_fails(
    tmp_path: Path,
    pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    secrets_env: None,
    restore_logging: None,
) -> None:
    from daemon.jobrunner import JobSpec
    from daemon.runtime import EmptyRuntime

    async def failing() -> None:
        raise RuntimeError("shop unreachable")

    async def factory(config: object, db: object) -> EmptyRuntime:
        return EmptyRuntime([JobSpec("acme", "shop-main", "orders", 60, failing)])

    (tmp_path / "acme.toml").write_text(merchant_toml(tmp_path / "state"))
    monkeypatch.setenv("FFN_SYNC_TEST_DSN", pg_dsn)
    monkeypatch.setattr("daemon.wiring.build_runtime", factory)

    assert main(["once", "--config", str(tmp_path)]) == ExitCode.SYNC_FAILED


def test_migrate_prints_the_schema_version(
    tmp_path: Path,
    pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    secrets_env: None,
    restore_logging: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from daemon.store import load_migrations

    latest = max(m.version for m in load_migrations())
    (tmp_path / "acme.toml").write_text(merchant_toml(tmp_path / "state"))
    monkeypatch.setenv("FFN_SYNC_TEST_DSN", pg_dsn)

    assert main(["migrate", "--config", str(tmp_path)]) == ExitCode.OK
    assert main(["migrate", "--config", str(tmp_path)]) == ExitCode.OK

    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith(f"schema version {latest} (applied 1")
    assert second == f"schema version {latest} (already up to date)"


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401 if self.path.startswith("/api") else 200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_check_prints_one_line_per_api_and_exits_69_when_one_is_down(
    tmp_path: Path,
    http_server: str,
    secrets_env: None,
    restore_logging: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    down = f"http://127.0.0.1:{_closed_port()}"
    channels = (("shop-main", http_server), ("shop-b", down))
    (tmp_path / "acme.toml").write_text(
        merchant_toml(tmp_path / "s", dsn_env=None, ffn_url=f"{http_server}/api", channels=channels)
    )

    assert main(["check", "--config", str(tmp_path)]) == ExitCode.UNAVAILABLE

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "config ok: 1 merchant(s) from 1 file(s)"
    by_api = {line.split()[0]: line for line in out[1:]}
    assert set(by_api) == {"acme/ffn", "acme/shop-main", "acme/shop-b"}
    assert "ok: HTTP 401" in by_api["acme/ffn"]  # reachable; credentials are not checked here
    assert "ok: HTTP 200" in by_api["acme/shop-main"]
    assert "FAILED:" in by_api["acme/shop-b"]


def test_check_exits_0_when_every_api_answers(
    tmp_path: Path, http_server: str, secrets_env: None, restore_logging: None
) -> None:
    channels = (("shop-main", http_server),)
    (tmp_path / "acme.toml").write_text(
        merchant_toml(tmp_path / "s", dsn_env=None, ffn_url=f"{http_server}/api", channels=channels)
    )

    assert main(["check", "--config", str(tmp_path)]) == ExitCode.OK


def test_sandbox_of_an_unknown_kind_exits_64(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sandbox", "magento", "--port", "1"]) == ExitCode.USAGE
    assert "unknown sandbox kind 'magento'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "exit_code"), [(["sandbox", "shopify", "--port", "1"], 69), (["demo", "--duration", "1"], 69)]
)
def test_installed_package_without_sandboxes_says_so(
    tmp_path: Path, command: list[str], exit_code: int
) -> None:
    # What a wheel install holds: the product packages and nothing beside them.
    for package in ("daemon", "adapters"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "daemon", *command], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == exit_code, done.stderr
    assert "sandboxes and the demo are not installed" in done.stderr
    assert "make demo" in done.stderr and "Traceback" not in done.stderr


def test_unexpected_crash_exits_70_with_the_traceback_logged(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    secrets_env: None,
    restore_logging: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def crash(config: object, factory: object) -> bool:
        raise KeyError("surprise")

    (tmp_path / "acme.toml").write_text(merchant_toml(tmp_path / "state", dsn_env=None))
    monkeypatch.setattr("daemon.app.run_once", crash)

    assert main(["once", "--config", str(tmp_path)]) == ExitCode.SOFTWARE
    err = capsys.readouterr().err
    assert "unexpected error, stopping: KeyError" in err
    assert "Traceback" in err
