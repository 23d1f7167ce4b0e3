"""What happens to an order's stock and status as it moves, the way ``wc-stock-functions.php`` and
``wc_create_refund`` do it.

- Stock is taken (``wc_maybe_reduce_stock_levels``) when an order enters ``processing``,
  ``completed`` or ``on-hold`` (and on payment), once: what each line took is remembered (its
  ``_reduced_stock``).
- It is given back (``wc_maybe_increase_stock_levels``) when the order enters ``cancelled`` or
  ``pending``. ``refunded``, ``failed`` and the trash leave stock alone.
- A refund is a separate record; the order's lines keep their quantities. Only a refund with
  ``restock`` puts the refunded units back. When the refunds reach the order total the order becomes
  ``refunded``.
"""

from __future__ import annotations

from decimal import Decimal

from sandboxes.woocommerce.state import LineItem, Order, Product, Refund, RefundLine, ShopState

REDUCE_ON = frozenset({"processing", "completed", "on-hold"})
RESTORE_ON = frozenset({"cancelled", "pending"})


def _unit(state: ShopState, item: LineItem) -> Product | None:
    return state.products.get(item.variation_id or item.product_id)


def refunded_quantity(order: Order, item_id: int) -> int:
    return sum(line.quantity for refund in order.refunds for line in refund.lines if line.item_id == item_id)


def reduce_stock(state: ShopState, order: Order) -> None:
    if order.reduced_stock:
        return
    for item in order.line_items:
        unit = _unit(state, item)
        quantity = item.quantity - refunded_quantity(order, item.id)
        if unit is None or not unit.manage_stock or quantity <= 0:
            continue
        unit.stock_quantity = (unit.stock_quantity or 0) - quantity
        order.reduced_stock[item.id] = quantity
        state.touch_product(unit)
    order.reduced_stock.setdefault(0, 0)  # marks "reduced" even for an order without managed lines


def restore_stock(state: ShopState, order: Order) -> None:
    if not order.reduced_stock:
        return
    for item in order.line_items:
        unit = _unit(state, item)
        quantity = order.reduced_stock.get(item.id, 0)
        if unit is None or not unit.manage_stock or quantity <= 0:
            continue
        unit.stock_quantity = (unit.stock_quantity or 0) + quantity
        state.touch_product(unit)
    order.reduced_stock.clear()


def set_status(state: ShopState, order: Order, status: str) -> None:
    """``WC_Order::set_status`` + save: the status hooks fire only on a real change."""
    if status == order.status:
        return
    order.status = status
    if status == "completed":
        order.completed = state.now()
    if status in REDUCE_ON:
        reduce_stock(state, order)
    elif status in RESTORE_ON:
        restore_stock(state, order)


def order_total(order: Order) -> Decimal:
    items = sum((i.price * i.quantity for i in order.line_items), Decimal(0))
    shipping = sum((Decimal(s.get("total", "0")) for s in order.shipping_lines), Decimal(0))
    return items + shipping


def refunded_total(order: Order) -> Decimal:
    return sum((r.amount for r in order.refunds), Decimal(0))


def refund(
    state: ShopState, order: Order, lines: list[tuple[str, int]], *, restock: bool, reason: str = ""
) -> Refund:
    """Refund ``(sku, qty)`` pairs; ValueError names a SKU the order cannot refund that much of."""
    refund_lines: list[RefundLine] = []
    for sku, quantity in lines:
        remaining = quantity
        for item in order.line_items:
            unit = _unit(state, item)
            if remaining <= 0 or unit is None or state.effective_sku(unit) != sku:
                continue
            room = (
                item.quantity
                - refunded_quantity(order, item.id)
                - sum(line.quantity for line in refund_lines if line.item_id == item.id)
            )
            take = min(room, remaining)
            if take > 0:
                refund_lines.append(RefundLine(item.id, take, item.price))
                remaining -= take
        if remaining > 0:
            raise ValueError(f"order {order.id} has not {quantity} unrefunded units of SKU {sku!r}")
    amount = sum((line.price * line.quantity for line in refund_lines), Decimal(0))
    record = Refund(state.new_id(), state.now(), refund_lines, amount, reason, restocked=restock)
    order.refunds.append(record)
    everything = all(refunded_quantity(order, item.id) >= item.quantity for item in order.line_items)
    if everything:
        # Refunding every line refunds the shipping too; the order is then fully refunded.
        record.amount += max(Decimal(0), order_total(order) - refunded_total(order))
    if restock:
        for line in refund_lines:
            item = next(i for i in order.line_items if i.id == line.item_id)
            unit = _unit(state, item)
            if unit is not None and unit.manage_stock:
                unit.stock_quantity = (unit.stock_quantity or 0) + line.quantity
                state.touch_product(unit)
                if item.id in order.reduced_stock:
                    order.reduced_stock[item.id] = max(0, order.reduced_stock[item.id] - line.quantity)
    if refunded_total(order) >= order_total(order):
        set_status(state, order, "refunded")
    state.touch_order(order)
    return record


def trash(state: ShopState, order: Order) -> None:
    """``DELETE /orders/{id}`` without ``force``: status ``trash``; no stock hook runs."""
    order.status = "trash"
    state.touch_order(order)
    state.changed("order.deleted", order.id)
