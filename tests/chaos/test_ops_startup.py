"""Start-up against a database that is down, refuses us, lacks our database or cannot be parsed:
the right exit code for systemd, one line naming what is wrong, and never any part of the password."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from daemon.store import open_database
from tests.chaos.ops_world import server_dir
from tests.e2e.stack import ENV, channel, merchant_file

# Every character that breaks naive DSN masking, around fragments distinctive enough to grep for.
PASSWORD = "Zq7@Kx:Yw/9?Vb#Jn&Tp=%Rm"


def _fragments(secret: str) -> set[str]:
    """Every 4-character piece of the password, raw and percent-encoded."""
    forms = (secret, quote(secret, safe=""))
    return {form[i : i + 4] for form in forms for i in range(len(form) - 3)}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start(tmp_path: Path, dsn: str) -> tuple[int, str]:
    path = tmp_path / "acme.toml"
    shops = [channel("shopify-main", "shopify", "http://127.0.0.1:9")]
    merchant_file("http://127.0.0.1:9", shops, tmp_path / "state").write(path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "daemon", "run", "--config", str(path),
        env={**os.environ, **ENV, "E2E_DSN": dsn},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def _assert_one_clean_line(output: str, *expected: str) -> None:
    errors = [line for line in output.splitlines() if "ERROR" in line or "CRITICAL" in line]
    assert len(errors) == 1, output
    assert "Traceback" not in output, output
    for text in expected:
        assert text in errors[0], (text, errors[0])
    leaked = sorted(f for f in _fragments(PASSWORD) if f in output)
    assert not leaked, (leaked, output)


@pytest.mark.timeout(120)
async def test_database_start_up_errors_exit_69_or_78_without_any_part_of_the_password(
    tmp_path: Path,
) -> None:
    encoded = quote(PASSWORD, safe="")
    port = _closed_port()
    code, out = await _start(tmp_path, f"postgresql://ffn:{encoded}@127.0.0.1:{port}/ffn")
    assert code == 69, out  # unreachable: systemd restarts and it may work next time
    _assert_one_clean_line(out, f"127.0.0.1:{port}", "unreachable")

    # The same password, not percent-encoded: the DSN cannot be parsed, and no piece of it is shown.
    code, out = await _start(tmp_path, f"postgresql://ffn:{PASSWORD}@127.0.0.1:{port}/ffn")
    assert code == 78, out
    _assert_one_clean_line(out, "database.dsn")

    with server_dir() as pg_dir:
        await _refused_and_missing(tmp_path, pg_dir / "pg")

    code, out = await _start(tmp_path, f"mysql://ffn:{encoded}@127.0.0.1:{port}/ffn")
    assert code == 78, out
    _assert_one_clean_line(out, "database.dsn is malformed")


async def _refused_and_missing(tmp_path: Path, state_dir: Path) -> None:
    encoded = quote(PASSWORD, safe="")
    async with open_database(None, state_dir, pool_min=1, pool_max=1) as db:
        secret = (state_dir / "pg_password").read_text().strip()
        code, out = await _start(tmp_path, db.dsn.replace(secret, encoded))
        assert code == 78, out  # wrong password: a restart cannot fix it
        _assert_one_clean_line(out, "refused the login of user 'postgres'")

        head, _, query = db.dsn.partition("?")
        missing = head.rsplit("/", 1)[0] + "/no_such_db?" + query
        code, out = await _start(tmp_path, missing)
        assert code == 78, out
        _assert_one_clean_line(out, "'no_such_db' does not exist")
