"""Micro-bench of secret redaction: ``python -m bench.redaction``.

Fills the process-wide registry as a fleet would (``--merchants`` × 8 configured secrets, then
``--refreshes`` token rotations per merchant, as FFN and Shopware token refreshes do all day) and
times ``redact`` on a typical log line (no secret in it: the common case) and on one that carries a
secret. Prints the registry size too: with rotating slots it stays bounded, without them it grows
by one value per refresh.
"""

from __future__ import annotations

import argparse
import secrets
import timeit

from daemon import secrets as registry

LINE = (
    "INFO    acme-0042/shopify-main/orders record=1042 | exported order #1042 to FFN as outbound "
    "OB-7731 (3 lines, 2 parcels); cursor now 2026-12-03T10:41:07Z"
)


def _fill(merchants: int, refreshes: int) -> str:
    sample = ""
    for merchant in range(merchants):
        for _ in range(8):
            sample = secrets.token_urlsafe(32)
            registry.register(sample)
        slot_type = getattr(registry, "SecretSlot", None)
        slots = [slot_type(f"bench {merchant} {kind}") for kind in ("access", "refresh")] if slot_type else []
        for _ in range(refreshes):
            for index in range(2):
                token = secrets.token_urlsafe(48)
                if slots:
                    slots[index].set(token)
                else:
                    registry.register(token)  # the registry before rotating slots: every token kept
        _keep.extend(slots)
    return sample


_keep: list[object] = []


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.redaction", description=__doc__)
    parser.add_argument("--merchants", type=int, default=100)
    parser.add_argument(
        "--refreshes", type=int, default=48, help="token rotations per merchant (two tokens each)"
    )
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    sample = _fill(args.merchants, args.refreshes)
    size = registry.registry_size() if hasattr(registry, "registry_size") else len(registry._known)  # type: ignore[attr-defined]
    with_secret = LINE.replace("OB-7731", sample)
    assert sample not in registry.redact(with_secret)
    clean = min(timeit.repeat(lambda: registry.redact(LINE), number=args.number, repeat=5)) / args.number
    dirty = (
        min(timeit.repeat(lambda: registry.redact(with_secret), number=args.number, repeat=5)) / args.number
    )
    print(
        f"merchants={args.merchants} refreshes/merchant={args.refreshes} registry={size} values  "
        f"redact clean line {clean * 1e6:.1f} µs  line with a secret {dirty * 1e6:.1f} µs"
    )


if __name__ == "__main__":
    main()
