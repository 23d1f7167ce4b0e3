"""What differs between the Shopware versions the connector supports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ShopwareVersion:
    raw: str
    major: int
    minor: int

    @classmethod
    def parse(cls, raw: str) -> ShopwareVersion:
        """``6.7.9.1`` (or ``6.7.9999999.9999999-dev``) -> (6, 7)."""
        parts = raw.strip().lstrip("v").split(".")
        try:
            return cls(raw, int(parts[0]), int(parts[1]))
        except (IndexError, ValueError):
            raise ValueError(f"unrecognised Shopware version {raw!r} from /api/_info/version") from None

    @property
    def has_primary_delivery(self) -> bool:
        """``order.primaryOrderDeliveryId`` / ``primaryOrderTransactionId`` exist from 6.7 on."""
        return (self.major, self.minor) >= (6, 7)

    @property
    def has_internal_comment(self) -> bool:
        """``order.internalComment`` exists from 6.7 on; 6.6 has nowhere to put a merchant-only note."""
        return (self.major, self.minor) >= (6, 7)
