"""Every GraphQL operation the client sends, with its requested cost by Shopify's rules.

Costs (object 1, connection 2 + first × node, mutation 10) decide page sizes: a page must stay well
under the bucket (and under Shopify's 1000-point single-query cap), while actual costs follow what
really comes back. ``tests/adapters/shopify`` checks every text against the sandbox schema and every
estimate against the sandbox's cost calculation.
"""

from __future__ import annotations

from adapters.shopify.transport import Operation

MAX_QUERY_COST = 1000
INLINE_LINES = 10  # line items fetched with the order; the rest per order (most orders have few lines)
EXTRA_LINES_PAGE = 100
FULFILLMENT_ORDERS_PAGE = 2  # most orders have one or two; more are paged (requested cost 610 -> 295)
FULFILLMENT_ORDER_LINES = 50

_MONEY = "shopMoney { amount currencyCode }"
LINE_FIELDS = f"id sku name quantity currentQuantity requiresShipping variant {{ id }} originalUnitPriceSet {{ {_MONEY} }}"
LINE_COST = 4  # line, variant, price set, money
ORDER_FIELDS = f"""
  id name createdAt updatedAt cancelledAt displayFinancialStatus displayFulfillmentStatus
  tags note email phone currencyCode paymentGatewayNames
  currentTotalPriceSet {{ {_MONEY} }}
  currentShippingPriceSet {{ {_MONEY} }}
  shippingAddress {{ firstName lastName company address1 address2 city zip province provinceCode countryCodeV2 phone }}
  shippingLines(first: 5) {{ nodes {{ title code }} }}
  lineItems(first: $lines) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {LINE_FIELDS} }} }}
"""


def order_node_cost(lines: int) -> int:
    # order 1, two price sets 2 each, address 1, shipping lines 2 + 5, line items 2 + lines × 4
    return 1 + 2 + 2 + 1 + 7 + 2 + lines * LINE_COST


CHANGED_ORDERS = Operation(
    "ChangedOrders",
    f"""query ChangedOrders($first: Int!, $after: String, $q: String, $lines: Int!) {{
  orders(first: $first, after: $after, query: $q, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {ORDER_FIELDS} }}
  }}
}}""",
    estimate=2 + 10 * order_node_cost(INLINE_LINES),
)

ORDER = Operation(
    "Order",
    f"query Order($id: ID!, $lines: Int!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}",
    estimate=order_node_cost(INLINE_LINES),
)

ORDER_LINES = Operation(
    "OrderLines",
    f"""query OrderLines($id: ID!, $first: Int!, $after: String) {{
  order(id: $id) {{
    lineItems(first: $first, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {LINE_FIELDS} }} }}
  }}
}}""",
    estimate=1 + 2 + EXTRA_LINES_PAGE * LINE_COST,
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

FULFILMENT_STATE = Operation(
    "FulfilmentState",
    f"""query FulfilmentState($id: ID!, $after: String) {{
  order(id: $id) {{
    id name cancelledAt
    fulfillments(first: 10) {{ id status trackingInfo(first: 5) {{ number company url }} }}
    fulfillmentOrders(first: {FULFILLMENT_ORDERS_PAGE}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        id status
        assignedLocation {{ location {{ id }} }}
        lineItems(first: {FULFILLMENT_ORDER_LINES}) {{
          pageInfo {{ hasNextPage }}
          nodes {{ id sku remainingQuantity totalQuantity lineItem {{ id sku }} }}
        }}
      }}
    }}
  }}
}}""",
    # order 1; fulfillments 2 + 10 × (1 + 2 + 5); FOs 2 + page × (1 + 2 + 2 + 50 × 2)
    estimate=1 + (2 + 10 * 8) + (2 + FULFILLMENT_ORDERS_PAGE * (5 + FULFILLMENT_ORDER_LINES * 2)),
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

SET_QUANTITIES = Operation(
    "SetQuantities",
    """mutation SetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
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
    CHANGED_ORDERS, ORDER, ORDER_LINES, CHANGED_VARIANTS, VARIANTS_BY_SKU, FULFILMENT_STATE, ORDER_NOTE, JOB,
    CREATE_FULFILLMENT, SET_QUANTITIES, ADD_TAGS, UPDATE_NOTE, CANCEL_ORDER,
)  # fmt: skip


def orders_page_cost(first: int, lines: int = INLINE_LINES) -> int:
    return 2 + first * order_node_cost(lines)


def variants_page_cost(first: int) -> int:
    return 1 + 2 + first * VARIANT_NODE_COST
