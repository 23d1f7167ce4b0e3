"""The redaction registry: every registered value masked wherever it appears, rotating tokens forgotten."""

from __future__ import annotations

import gc
import random
import string

import pytest

from daemon.secrets import GRACE_S, MAX_RETIRED_PER_SLOT, Registry, SecretSlot


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "-_") for _ in range(length))


@pytest.mark.parametrize("count", [3, 40])  # both strategies: a direct scan and sampled grams
def test_every_value_is_masked_at_every_offset(count: int) -> None:
    rng = random.Random(count)
    registry = Registry()
    values = [_token(rng, rng.choice([4, 5, 15, 16, 17, 24, 40, 88])) for _ in range(count)]
    for value in values:
        registry.register(value)
    for value in values:
        for offset in range(0, 30):
            text = "x" * offset + value + " tail"
            assert value not in registry.redact(text), (value, offset)
            assert registry.redact(text) == "x" * offset + "*** tail"
        assert registry.redact(value) == "***"
    assert registry.redact("nothing secret here, just a long log line " * 3).count("***") == 0


def test_a_value_inside_a_longer_one_masks_the_longer_whole() -> None:
    registry = Registry()
    inner, outer = "abcdefghijklmnopqrst", "prefix-abcdefghijklmnopqrst-suffix"
    registry.register(inner)
    registry.register(outer)
    assert registry.redact(f"a {outer} b {inner} c") == "a *** b *** c"


def test_short_values_are_not_registered() -> None:
    registry = Registry()
    registry.register("abc")
    assert registry.redact("abc") == "abc"
    assert len(registry) == 0


def test_a_replaced_token_is_masked_for_the_grace_period_then_forgotten() -> None:
    ticks = Ticks()
    registry = Registry(clock=ticks)
    slot = SecretSlot("ffn access token", registry)
    slot.set("first-access-token-0001")
    slot.set("second-access-token-0002")

    ticks.now += GRACE_S - 1  # a log line still in flight may carry the old token
    assert registry.redact("old first-access-token-0001") == "old ***"
    ticks.now += 2
    assert registry.redact("old first-access-token-0001") == "old first-access-token-0001"
    assert registry.redact("new second-access-token-0002") == "new ***"
    assert len(registry) == 1


def test_a_value_that_is_also_configured_stays_masked_when_its_slot_moves_on() -> None:
    ticks = Ticks()
    registry = Registry(clock=ticks)
    registry.register("configured-and-current-1234")
    slot = SecretSlot("token", registry)
    slot.set("configured-and-current-1234")
    slot.set("the-next-token-5678-abcdef")
    ticks.now += GRACE_S + 1
    assert registry.redact("configured-and-current-1234") == "***"


def test_the_registry_stays_bounded_under_10000_refreshes() -> None:
    ticks = Ticks()
    registry = Registry(clock=ticks)
    registry.register("configured-client-secret-0001")
    slots = [SecretSlot(name, registry) for name in ("ffn access", "ffn refresh", "shopware token")]
    rng = random.Random(7)
    sizes = []
    for refresh in range(10_000):
        for slot in slots:
            slot.set(_token(rng, 48))
        ticks.now += 60 if refresh % 2 else 0.01  # bursts (401s) and regular refreshes
        registry.redact("a log line")
        sizes.append(len(registry))
    bound = 1 + len(slots) * (1 + MAX_RETIRED_PER_SLOT)
    assert max(sizes) <= bound
    assert sizes[-1] == sizes[5000]  # flat, not growing


def test_a_dropped_slot_retires_its_value() -> None:
    ticks = Ticks()
    registry = Registry(clock=ticks)
    slot = SecretSlot("shopware token", registry)
    slot.set("token-of-a-removed-merchant-77")
    del slot
    gc.collect()
    assert registry.redact("token-of-a-removed-merchant-77") == "***"  # still in its grace period
    ticks.now += GRACE_S + 1
    assert registry.redact("token-of-a-removed-merchant-77") == "token-of-a-removed-merchant-77"
    assert len(registry) == 0
