"""Every flow, declared once: the jobs, reports, ``status``, ``resync`` and ``trace`` read names and
properties from ``FLOWS``.

The order is the order of a channel's jobs in ``once``: products first (orders need the SKU map), then
orders, then the shop's stock write (phase 1); the merchant's FFN-side flows after them.
"""

from __future__ import annotations

from daemon.engine.flow import AnyFlow, Scope
from daemon.engine.flows.orders import ORDERS
from daemon.engine.flows.products import PRODUCTS
from daemon.engine.flows.purge import PURGE
from daemon.engine.flows.reconcile import RECONCILE
from daemon.engine.flows.shipments import SHIPMENTS
from daemon.engine.flows.status import STATUS
from daemon.engine.flows.stock import FFN_STOCK, SHOP_STOCK

FLOWS: tuple[AnyFlow, ...] = (PRODUCTS, ORDERS, SHOP_STOCK, SHIPMENTS, STATUS, FFN_STOCK, RECONCILE, PURGE)

# What ``resync`` can move back: the flows that read after a cursor.
CURSOR_FLOWS: tuple[str, ...] = tuple(sorted({flow.name for flow in FLOWS if flow.cursor}))
# The flow that queues each snapshot entity, and the FFN-side ones among them: their rows sit in the shop
# channel of the order they belong to, their cursor and health under "ffn".
FLOW_OF_ENTITY: dict[str, str] = {flow.entity: flow.name for flow in FLOWS if flow.entity is not None}
FFN_FLOWS: frozenset[str] = frozenset(
    flow.name for flow in FLOWS if flow.entity is not None and flow.scope is Scope.MERCHANT
)
