"""Every GraphQL operation the client sends, with its requested cost by Shopify's rules.

Costs (object 1, connection 2 + first × node, mutation 10) decide page sizes: a page must stay well
under the bucket (and under Shopify's 1000-point single-query cap), while actual costs follow what
really comes back. ``tests/adapters/shopify`` checks every text against the sandbox schema and every
estimate against the sandbox's cost calculation.
"""

from __future__ import annotations

from adapters.shopify.transport import Operation

MAX_QUERY_COST = 1000
# Lines of a fulfillment order fetched with the order; more are paged per order. Most orders have one to
# three lines, and every inline line is reserved up front (first × its cost) even when the order has fewer:
# 5 keeps a page's requested cost (and so the wait for the bucket before it runs) low.
INLINE_LINES = 5
FULFILLMENT_ORDERS_PAGE = 2  # most orders have one or two; more are paged (requested cost 610 -> 295)
FULFILLMENT_ORDER_LINES = 50

_MONEY = "shopMoney { amount currencyCode }"
# Exactly what mapping.map_line reads (every object costs a point per line: no variant, nothing unused).
LINE_FIELDS = (
    "id sku name quantity currentQuantity requiresShipping originalUnitPriceSet { shopMoney { amount } }"
)
# The order's lines are read through its fulfillment orders at the FFN location, the only lines FFN can
# ship (adapters/shopify/gate.py): a line elsewhere counts 0 anyway, and reading ``lineItems`` as well cost
# a connection and a point per line more. Only FOs assigned to the FFN location are asked for ($foQuery =
# "assigned_location_id:…"); displayable drops the ones closed by a move or merge. Whether the app may
# fulfil them is the location's property (a fulfillment service's location is that service's alone), read
# once (LOCATION_KIND) instead of each FO's supportedActions (a point per action, four per open FO).
FO_PAGE = 1  # inline with the order; more at the FFN location (rare: a split) are paged separately
FO_EXTRA_PAGE = 4  # × an FO of 50 lines stays under the 1000-point cap
FO_LINES = f"""
    pageInfo {{ hasNextPage endCursor }} nodes {{ remainingQuantity totalQuantity lineItem {{ {LINE_FIELDS} }} }}
"""
FO_FIELDS = f"""
  id status fulfillAt
  fulfillmentHolds {{ reason reasonNotes }}
  lineItems(first: $lines) {{ {FO_LINES} }}
"""
FO_COST_PER_LINE = 4  # FO line, its line item, the line's price set, money
SHIPPING_LINES_PAGE = 5  # titles and codes of the methods; orders rarely carry more than one
ORDER_FIELDS = f"""
  id name createdAt updatedAt cancelledAt displayFinancialStatus displayFulfillmentStatus test
  tags note email phone currencyCode paymentGatewayNames
  currentTotalPriceSet {{ {_MONEY} }}
  currentShippingPriceSet {{ {_MONEY} }}
  shippingAddress {{ firstName lastName company address1 address2 city zip province provinceCode countryCodeV2 phone }}
  shippingLines(first: {SHIPPING_LINES_PAGE}) {{ nodes {{ title code }} }}
  fulfillmentOrders(first: {FO_PAGE}, displayable: true, query: $foQuery) {{
    pageInfo {{ hasNextPage endCursor }} nodes {{ {FO_FIELDS} }}
  }}
"""


def fo_node_cost(lines: int) -> int:
    # FO 1, holds 1, lines 2 + lines × 4 (the location is the query's filter)
    return 1 + 1 + 2 + lines * FO_COST_PER_LINE


def order_node_cost(lines: int) -> int:
    # order 1, two price sets 2 each, address 1, shipping lines 2 + 5, fulfillment orders 2 + FO_PAGE × one FO
    shipping_lines = 2 + SHIPPING_LINES_PAGE
    return 1 + 2 + 2 + 1 + shipping_lines + 2 + FO_PAGE * fo_node_cost(lines)


CHANGED_ORDERS = Operation(
    "ChangedOrders",
    f"""query ChangedOrders($first: Int!, $after: String, $q: String, $lines: Int!, $foQuery: String!) {{
  orders(first: $first, after: $after, query: $q, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {ORDER_FIELDS} }}
  }}
}}""",
    estimate=2 + 10 * order_node_cost(INLINE_LINES),
)

# A poll's first page: the same page, and how many orders the window holds (up to $limit, 1 point more),
# so that a burst is read through a bulk operation (adapters/shopify/bulk.py) without a request of its own
# and an empty poll is one request.
POLL_ORDERS = Operation(
    "PollOrders",
    f"""query PollOrders($first: Int!, $q: String, $limit: Int, $lines: Int!, $foQuery: String!) {{
  ordersCount(query: $q, limit: $limit) {{ count precision }}
  orders(first: $first, query: $q, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {ORDER_FIELDS} }}
  }}
}}""",
    estimate=1 + 2 + 10 * order_node_cost(INLINE_LINES),
)

# The reconcile's listing: which orders changed when, nothing else (1 point per order instead of a full read);
# it reads in full only those the snapshot does not hold at that version.
VERSIONS_PAGE = 250
ORDER_VERSIONS = Operation(
    "OrderVersions",
    """query OrderVersions($first: Int!, $after: String, $q: String) {
  orders(first: $first, after: $after, query: $q, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id updatedAt }
  }
}""",
    estimate=2 + VERSIONS_PAGE,
)

# How many orders a window holds, counted up to $limit: decides between paged reads and a bulk operation
# (adapters/shopify/bulk.py) for a point, before anything is read in full.
ORDERS_COUNT = Operation(
    "OrdersCount",
    "query OrdersCount($q: String, $limit: Int) { ordersCount(query: $q, limit: $limit) { count precision } }",
    estimate=1,
)

ORDER = Operation(
    "Order",
    f"query Order($id: ID!, $lines: Int!, $foQuery: String!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}",
    estimate=order_node_cost(INLINE_LINES),
)

VARIANT_NODE_COST = 5  # variant, inventory item, measurement, weight, product
CHANGED_VARIANTS = Operation(
    "ChangedVariants",
    """query ChangedVariants($first: Int!, $after: String, $q: String) {
  shop { currencyCode }
  productVariants(first: $first, after: $after, query: $q, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id sku barcode title price updatedAt
      inventoryItem { id requiresShipping countryCodeOfOrigin measurement { weight { value unit } } }
      product { title }
    }
  }
}""",
    estimate=1 + 2 + 100 * VARIANT_NODE_COST,
)

SKU_LOOKUP_PAGE = 100
SKUS_PER_LOOKUP = 50
VARIANTS_BY_SKU = Operation(
    "VariantsBySku",
    """query VariantsBySku($first: Int!, $after: String, $q: String!) {
  productVariants(first: $first, after: $after, query: $q) {
    pageInfo { hasNextPage endCursor }
    nodes { sku inventoryItem { id } }
  }
}""",
    estimate=2 + SKU_LOOKUP_PAGE * 2,
)

STATE_LINES = (
    "pageInfo { hasNextPage endCursor } nodes { id sku remainingQuantity totalQuantity lineItem { id sku } }"
)
FULFILMENT_STATE = Operation(
    "FulfilmentState",
    f"""query FulfilmentState($id: ID!, $after: String, $foQuery: String!) {{
  order(id: $id) {{
    id name cancelledAt
    fulfillments(first: 10) {{ id status trackingInfo(first: 5) {{ number company url }} }}
    fulfillmentOrders(first: {FULFILLMENT_ORDERS_PAGE}, after: $after, displayable: true, query: $foQuery) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        id status
        assignedLocation {{ location {{ id }} }}
        supportedActions {{ action }}
        lineItems(first: {FULFILLMENT_ORDER_LINES}) {{ {STATE_LINES} }}
      }}
    }}
  }}
}}""",
    # order 1; fulfillments 2 + 10 × (1 + 2 + 5); FOs 2 + page × (1 + 2 + 1 + 2 + 50 × 2)
    estimate=1 + (2 + 10 * 8) + (2 + FULFILLMENT_ORDERS_PAGE * (6 + FULFILLMENT_ORDER_LINES * 2)),
)

# The rest of a fulfillment order's lines for a fulfilment (the shipment's lines beyond the first 50).
FULFILMENT_STATE_LINES = Operation(
    "FulfilmentStateLines",
    f"""query FulfilmentStateLines($id: ID!, $after: String, $lines: Int!) {{
  fulfillmentOrder(id: $id) {{ id lineItems(first: $lines, after: $after) {{ {STATE_LINES} }} }}
}}""",
    estimate=1 + 2 + FULFILLMENT_ORDER_LINES * 2,
)

ORDER_FULFILMENT_ORDERS = Operation(
    "OrderFulfilmentOrders",
    f"""query OrderFulfilmentOrders($id: ID!, $after: String, $lines: Int!, $foQuery: String!) {{
  order(id: $id) {{
    fulfillmentOrders(first: {FO_EXTRA_PAGE}, after: $after, displayable: true, query: $foQuery) {{
      pageInfo {{ hasNextPage endCursor }} nodes {{ {FO_FIELDS} }}
    }}
  }}
}}""",
    estimate=1 + 2 + FO_EXTRA_PAGE * fo_node_cost(FULFILLMENT_ORDER_LINES),
)

# The rest of a fulfillment order's lines when it has more than come with it: 50 a page (by the FO line
# cursor), so an order of any size is exported whole, never short.
FULFILLMENT_ORDER_LINES_PAGE = Operation(
    "FulfillmentOrderLines",
    f"""query FulfillmentOrderLines($id: ID!, $after: String, $lines: Int!) {{
  fulfillmentOrder(id: $id) {{ id lineItems(first: $lines, after: $after) {{ {FO_LINES} }} }}
}}""",
    estimate=1 + 2 + FULFILLMENT_ORDER_LINES * FO_COST_PER_LINE,
)

# Orders waiting on a hold or schedule, re-checked each cycle: only the FO statuses at the FFN location.
WAITING_PAGE = 50
WAITING_FO_PAGE = 5
WAITING_ORDERS = Operation(
    "WaitingOrders",
    f"""query WaitingOrders($first: Int!, $q: String!, $foQuery: String!) {{
  orders(first: $first, query: $q) {{
    nodes {{ id cancelledAt fulfillmentOrders(first: {WAITING_FO_PAGE}, displayable: true, query: $foQuery) {{
      nodes {{ status }} }} }}
  }}
}}""",
    estimate=2 + WAITING_PAGE * (1 + 2 + WAITING_FO_PAGE),
)

LOCATION_KIND = Operation(
    "LocationKind",
    "query LocationKind($id: ID!) { location(id: $id) { id isFulfillmentService } }",
    estimate=1,
)

APP_SCOPES = Operation(
    "AppScopes", "query AppScopes { currentAppInstallation { accessScopes { handle } } }", estimate=2
)

LEVELS_PAGE = 100
INVENTORY_LEVELS = Operation(
    "InventoryLevels",
    """query InventoryLevels($first: Int!, $q: String!, $location: ID!) {
  inventoryItems(first: $first, query: $q) {
    pageInfo { hasNextPage endCursor }
    nodes { id inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } } }
  }
}""",
    estimate=2 + LEVELS_PAGE * 3,  # item, level, quantities
)

ORDER_NOTE = Operation(
    "OrderNote", "query OrderNote($id: ID!) { order(id: $id) { id name note tags cancelledAt } }", estimate=1
)

JOB = Operation("Job", "query Job($id: ID!) { job(id: $id) { id done } }", estimate=1)

MUTATION_COST = 10
CREATE_FULFILLMENT = Operation(
    "CreateFulfillment",
    """mutation CreateFulfillment($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id name status }
    userErrors { field message }
  }
}""",
    estimate=MUTATION_COST,
)

# 2026 shape, valid from 2026-01 on: changeFromQuantity on every quantity, @idempotent on the field.
SET_QUANTITIES = Operation(
    "SetQuantities",
    """mutation SetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}""",
    estimate=MUTATION_COST,
)

ADD_TAGS = Operation(
    "AddTags",
    """mutation AddTags($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { userErrors { field message } }
}""",
    estimate=MUTATION_COST,
)

UPDATE_NOTE = Operation(
    "UpdateNote",
    """mutation UpdateNote($input: OrderInput!) {
  orderUpdate(input: $input) { order { id } userErrors { field message } }
}""",
    estimate=MUTATION_COST,
)

CANCEL_ORDER = Operation(
    "CancelOrder",
    """mutation CancelOrder($orderId: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!,
    $notifyCustomer: Boolean, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refund: $refund, restock: $restock,
      notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { code field message }
  }
}""",
    estimate=MUTATION_COST,
)

ALL_OPERATIONS = (
    CHANGED_ORDERS, POLL_ORDERS, ORDER_VERSIONS, ORDERS_COUNT, ORDER, LOCATION_KIND, ORDER_FULFILMENT_ORDERS,
    FULFILLMENT_ORDER_LINES_PAGE, FULFILMENT_STATE_LINES, WAITING_ORDERS, APP_SCOPES, INVENTORY_LEVELS,
    CHANGED_VARIANTS, VARIANTS_BY_SKU, FULFILMENT_STATE, ORDER_NOTE, JOB, CREATE_FULFILLMENT, SET_QUANTITIES,
    ADD_TAGS, UPDATE_NOTE, CANCEL_ORDER,
)  # fmt: skip


def orders_page_cost(first: int, lines: int = INLINE_LINES) -> int:
    return 2 + first * order_node_cost(lines)


def poll_page_cost(first: int) -> int:
    return 1 + orders_page_cost(first)


def variants_page_cost(first: int) -> int:
    return 1 + 2 + first * VARIANT_NODE_COST
