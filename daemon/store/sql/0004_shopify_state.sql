-- What the Shopify adapter remembers between cycles and restarts (adapters/shopify/state.py).

-- The available quantity last observed (read, or written by us) per inventory item and location: the
-- changeFromQuantity of the next write (compare-and-swap).
CREATE TABLE shopify_inventory_seen (
    merchant_id        text        NOT NULL,
    channel            text        NOT NULL,
    location_id        text        NOT NULL,
    inventory_item_id  text        NOT NULL,
    quantity           integer     NOT NULL,
    observed_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, channel, location_id, inventory_item_id)
);

-- Idempotency keys of inventory writes: one per exact request body, stored before sending, so a resend
-- after a lost answer carries the same key; dropped once Shopify answered.
CREATE TABLE shopify_idempotency_keys (
    merchant_id      text        NOT NULL,
    channel          text        NOT NULL,
    body_hash        text        NOT NULL,
    idempotency_key  text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, channel, body_hash)
);

-- Orders whose fulfillment orders at the FFN location are ON_HOLD or SCHEDULED. A release does not change
-- the order's updatedAt, so these are re-checked every cycle until released.
CREATE TABLE shopify_waiting_orders (
    merchant_id  text        NOT NULL,
    channel      text        NOT NULL,
    order_id     text        NOT NULL,
    reason       text        NOT NULL,
    since        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, channel, order_id)
);
