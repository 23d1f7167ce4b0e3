from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "ffn-sync.service"
MAX_EXPOSURE = 2.0


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_exposure_score_is_at_most_2() -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout + done.stderr)
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, done.stdout


def test_unit_is_a_notify_service_that_does_not_restart_on_config_or_data_errors() -> None:
    settings = unit_settings()
    assert settings["Type"] == ["notify"]
    assert settings["NotifyAccess"] == ["main"]
    assert settings["WatchdogSec"] == ["60"]
    assert settings["Restart"] == ["on-failure"]
    assert set(settings["RestartPreventExitStatus"][0].split()) == {"78", "65"}
    assert settings["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert settings["ExecStart"][0].endswith("ffn-sync run --config /etc/ffn-sync")


def test_sandbox_still_allows_what_the_daemon_needs() -> None:
    settings = unit_settings()
    # outbound HTTPS, local Postgres and the notify socket, the metrics port on 127.0.0.1
    assert set(settings["RestrictAddressFamilies"][0].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert "PrivateNetwork" not in settings
    assert settings["StateDirectory"] == ["ffn-sync"]  # the embedded Postgres lives there
    assert "-/etc/ffn-sync/env" in settings["EnvironmentFile"]


def test_grace_period_fits_in_the_stop_timeout() -> None:
    # The daemon waits [daemon] shutdown_grace_s (default 20 s) for running cycles, then stops Postgres.
    timeout = unit_settings()["TimeoutStopSec"][0]
    assert int(timeout.removesuffix("s")) >= 20 + 15
