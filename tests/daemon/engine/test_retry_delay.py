"""Record-level retry delays: doubling from the first delay, capped at an hour, with ±20 % jitter."""

from __future__ import annotations

import random

import pytest

from daemon.engine.push import RETRY_BASE_S, RETRY_MAX_S, retry_delay_s


@pytest.mark.parametrize(
    ("attempts", "first_s", "expected_s"),
    [
        pytest.param(0, RETRY_BASE_S, 30.0, id="not-yet-attempted-first-delay"),
        pytest.param(1, RETRY_BASE_S, 30.0, id="first-retry-30s"),
        pytest.param(2, RETRY_BASE_S, 60.0, id="second-1min"),
        pytest.param(3, RETRY_BASE_S, 120.0, id="third-2min"),
        pytest.param(7, RETRY_BASE_S, 1920.0, id="seventh-32min"),
        pytest.param(8, RETRY_BASE_S, RETRY_MAX_S, id="eighth-capped-at-an-hour"),
        pytest.param(50, RETRY_BASE_S, RETRY_MAX_S, id="far-beyond-stays-capped"),
        pytest.param(1, 5.0, 5.0, id="configured-first-delay"),
        pytest.param(4, 5.0, 40.0, id="configured-first-delay-doubles"),
        pytest.param(1, 7200.0, RETRY_MAX_S, id="configured-first-delay-above-the-cap"),
    ],
)
def test_the_retry_schedule_doubles_from_the_first_delay_up_to_the_cap(
    attempts: int, first_s: float, expected_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: 1.0)
    assert retry_delay_s(attempts, first_s) == expected_s


@pytest.mark.parametrize(
    ("draw", "attempts", "expected_s"),
    [
        pytest.param("low", 1, 24.0, id="first-retry-earliest"),
        pytest.param("high", 1, 36.0, id="first-retry-latest"),
        pytest.param("high", 20, RETRY_MAX_S * 1.2, id="capped-retry-latest"),
        pytest.param("low", 20, RETRY_MAX_S * 0.8, id="capped-retry-earliest"),
    ],
)
def test_jitter_spreads_each_delay_by_at_most_a_fifth(
    draw: str, attempts: int, expected_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Records that failed together (one outage) must not all come back in the same second.
    monkeypatch.setattr(random, "uniform", lambda low, high: low if draw == "low" else high)
    assert retry_delay_s(attempts) == pytest.approx(expected_s)
