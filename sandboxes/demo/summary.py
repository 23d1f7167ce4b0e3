"""What the demo prints at the end, and the check that every flow actually moved something."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandboxes.demo.stats import percentile, seconds


@dataclass
class ShopRow:
    kind: str
    orders_created: int = 0
    outbounds_in_ffn: int = 0
    orders_shipped_in_shop: int = 0
    stock_writes: int = 0


@dataclass
class DemoSummary:
    duration_s: float
    orders_per_s: float
    shops: list[ShopRow]
    ffn_outbounds: int = 0
    ffn_shipping_notifications: int = 0
    dead_letters: list[tuple[str, str, int]] = field(default_factory=list)
    order_latencies_s: list[float] = field(default_factory=list)
    shipment_latencies_s: list[float] = field(default_factory=list)
    interrupted: bool = False
    stalled: str | None = None  # what the world was still waiting for when the run ended

    @property
    def orders_created(self) -> int:
        return sum(row.orders_created for row in self.shops)

    @property
    def orders_shipped(self) -> int:
        return sum(row.orders_shipped_in_shop for row in self.shops)

    @property
    def stock_writes(self) -> int:
        return sum(row.stock_writes for row in self.shops)

    @property
    def dead_letter_count(self) -> int:
        return sum(n for _, _, n in self.dead_letters)

    def problems(self) -> list[str]:
        """Flows that moved nothing: the demo must not look like success when a flow is broken."""
        found = [self.stalled] if self.stalled else []
        if self.orders_created == 0:
            found.append("no orders were created in the shops")
        elif self.ffn_outbounds == 0:
            found.append("orders did not reach FFN (0 outbounds)")
        if self.ffn_outbounds and self.orders_shipped == 0:
            found.append("no shipment reached a shop")
        if self.stock_writes == 0:
            found.append("no stock level was written to a shop")
        return found

    def render(self) -> str:
        header = ("shop", "orders created", "outbounds in FFN", "shipped in shop", "stock writes")
        rows = [
            (r.kind, r.orders_created, r.outbounds_in_ffn, r.orders_shipped_in_shop, r.stock_writes)
            for r in self.shops
        ]
        rows.append(
            ("total", self.orders_created, self.ffn_outbounds, self.orders_shipped, self.stock_writes)
        )
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

        def line(cells: tuple[object, ...]) -> str:
            first = str(cells[0]).ljust(widths[0])
            rest = (str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
            return "  ".join([first, *rest])

        rule = "  ".join("-" * w for w in widths)
        how = "interrupted" if self.interrupted else "finished"
        dead = ", ".join(f"{n} {entity} ({reason})" for entity, reason, n in self.dead_letters) or "none"
        order_lat, ship_lat = self.order_latencies_s, self.shipment_latencies_s
        return "\n".join(
            [
                f"ffn-sync demo {how} after {self.duration_s:.0f} s ({self.orders_per_s:g} orders/s)",
                line(header),
                rule,
                *(line(row) for row in rows[:-1]),
                rule,
                line(rows[-1]),
                f"FFN shipping notifications: {self.ffn_shipping_notifications}",
                f"dead letters: {self.dead_letter_count} ({dead})",
                f"order -> FFN latency: p50 {seconds(percentile(order_lat, 0.5))}, "
                f"p99 {seconds(percentile(order_lat, 0.99))} (n={len(order_lat)})",
                f"shipment -> shop latency: p50 {seconds(percentile(ship_lat, 0.5))}, "
                f"p99 {seconds(percentile(ship_lat, 0.99))} (n={len(ship_lat)})",
            ]
        )
