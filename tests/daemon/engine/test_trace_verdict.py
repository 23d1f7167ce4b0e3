"""The one line `ffn-sync trace` answers with, for every state an order row can be in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from daemon.engine.trace import verdict

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
BASE: dict[str, Any] = {
    "state": "pending",
    "reason_code": None,
    "last_error": None,
    "remote_id": None,
    "remote_status": None,
    "next_attempt_at": NOW - timedelta(seconds=1),
    "attempts": 0,
    "label": "1001",
    "external_id": "gid-1",
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, "queued: the next orders cycle sends it"),
        (
            {"next_attempt_at": NOW + timedelta(minutes=5), "attempts": 3, "last_error": "FFN answered 503"},
            "retrying at 2026-05-04 10:05:00 (attempt 3): FFN answered 503",
        ),
        (
            {
                "next_attempt_at": NOW + timedelta(minutes=30),
                "last_error": "held until 10:30:00 (30 min after creation)",
            },
            "waiting until 2026-05-04 10:30:00: held until 10:30:00 (30 min after creation)",
        ),
        (
            {"state": "skipped", "reason_code": "waiting", "last_error": "held in the shop: fraud check"},
            "waiting: held in the shop: fraud check; it is read again when it changes in the shop",
        ),
        (
            {"state": "skipped", "reason_code": "skipped", "last_error": "skipped: tag no-ffn"},
            "not for the warehouse: skipped: tag no-ffn",
        ),
        (
            {"state": "failed", "reason_code": "missing_sku", "last_error": "line 1 has no SKU"},
            "parked (missing_sku): line 1 has no SKU; fix the cause, then `ffn-sync retry 1001`",
        ),
        (
            {"state": "synced", "remote_id": "MERC02X", "remote_status": "Shipped"},
            "in FFN as outbound MERC02X, status Shipped",
        ),
    ],
)
def test_each_state_reads_as_one_sentence(change: dict[str, Any], expected: str) -> None:
    assert verdict(BASE | change, NOW) == expected
