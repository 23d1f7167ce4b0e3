"""Start-up errors of the store: what the operator sees, and how systemd reacts."""

from __future__ import annotations

from pathlib import Path

from daemon.store.db import safe_dsn
from daemon.store.startup import dsn_target


def test_systemd_restarts_on_69_and_stops_on_78() -> None:
    unit = (Path(__file__).resolve().parents[3] / "systemd" / "ffn-sync.service").read_text()
    prevent = next(line for line in unit.splitlines() if line.startswith("RestartPreventExitStatus="))
    codes = set(prevent.split("=", 1)[1].split())
    assert "78" in codes and "69" not in codes
    assert "Restart=on-failure" in unit


def test_the_store_exits_with_the_cli_codes() -> None:
    from daemon.cli.exitcodes import ExitCode
    from daemon.store.startup import EXIT_CONFIG, EXIT_UNAVAILABLE

    assert (EXIT_UNAVAILABLE, EXIT_CONFIG) == (ExitCode.UNAVAILABLE, ExitCode.CONFIG)


def test_dsn_target_and_safe_dsn_never_cut_a_password_at_its_first_special_character() -> None:
    raw = "postgresql://sync:p@ss:w/rd?x#y@db.example:6432/ffn?sslmode=require"
    target = dsn_target(raw)
    assert target is not None and str(target) == "db.example:6432/ffn" and target.user == "sync"
    assert safe_dsn(raw) == "postgresql://sync:***@db.example:6432/ffn?sslmode=require"
    assert safe_dsn("postgres://sync@db/ffn?password=a&b=c&sslmode=require") == (
        "postgres://sync@db/ffn?password=***&sslmode=require"
    )
    assert dsn_target("mysql://x:y@h/d") is None
    assert str(dsn_target("postgresql://u:p@/ffn_sync?host=/run/pg")) == "/run/pg:5432/ffn_sync"


def test_an_at_sign_in_a_query_string_password_never_reaches_the_operator() -> None:
    import asyncpg

    from daemon.store.startup import classify

    dsn = "postgresql://127.0.0.1:5433/ffn?user=ffn&password=S3cret@Pass"
    target = dsn_target(dsn)
    assert target is not None
    assert (target.user, target.host, target.port, target.database) == ("ffn", "127.0.0.1", "5433", "ffn")
    assert safe_dsn(dsn) == "postgresql://127.0.0.1:5433/ffn?user=ffn&password=***"
    for exc in (ConnectionRefusedError(111, "Connection refused"), asyncpg.InvalidPasswordError("no")):
        error = classify(exc, dsn)
        assert error is not None and "127.0.0.1:5433" in str(error)
        assert "S3cret" not in str(error) and "Pass" not in str(error)
    userinfo_dsn = "postgresql://host/db?password=s3cr@x&user=sync"
    error = classify(asyncpg.InvalidPasswordError("no"), userinfo_dsn)
    assert error is not None and "s3cr" not in str(error) and "'sync'" in str(error)
