-- The sync engine's state. Every table is keyed by merchant_id first: one database serves many
-- merchants, and a merchant is owned by one instance at a time (advisory-lock lease).

-- Snapshot = queue. One row per record crossing the boundary, in either direction:
--   product  (shop -> FFN)   external_id = SKU
--   order    (shop -> FFN)   external_id = shop order id
--   shipment (FFN -> shop)   external_id = outboundShippingNotificationId
--   fstatus  (FFN -> shop)   external_id = outboundId:status
-- A row is pending exactly when what was pulled differs from what was last pushed.
CREATE TABLE snapshot (
    merchant_id      text        NOT NULL,
    channel          text        NOT NULL,
    entity           text        NOT NULL,
    external_id      text        NOT NULL,
    payload          jsonb       NOT NULL,
    pulled_hash      text        NOT NULL,
    pushed_hash      text,
    remote_id        text,
    state            text        NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'synced', 'skipped', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    reason_code      text,
    last_error       text,
    label            text,                       -- what an operator recognises: order number, SKU
    source_created_at timestamptz,               -- when the record appeared at its source
    remote_status    text,                       -- FFN outbound status last seen (orders)
    remote_hash      text,                       -- hash of what FFN holds (orders: the outbound sent)
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    pushed_at        timestamptz,
    PRIMARY KEY (merchant_id, channel, entity, external_id)
);
CREATE INDEX snapshot_work ON snapshot (merchant_id, channel, entity, next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX snapshot_failed ON snapshot (merchant_id, state) WHERE state = 'failed';
CREATE INDEX snapshot_remote ON snapshot (merchant_id, entity, remote_id) WHERE remote_id IS NOT NULL;

-- Delta cursors, per (merchant, channel, flow). channel is the shop channel name or 'ffn'.
CREATE TABLE cursors (
    merchant_id  text        NOT NULL,
    channel      text        NOT NULL,
    flow         text        NOT NULL,
    position     timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, channel, flow)
);

-- SKU <-> jfsku, kept by the products flow (and learnt from FFN stock).
CREATE TABLE sku_map (
    merchant_id  text        NOT NULL,
    sku          text        NOT NULL,
    jfsku        text        NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, sku)
);
CREATE UNIQUE INDEX sku_map_jfsku ON sku_map (merchant_id, jfsku);

-- FFN stock as last seen; version guards against applying an older change after a newer one.
CREATE TABLE ffn_stock (
    merchant_id  text        NOT NULL,
    jfsku        text        NOT NULL,
    sku          text,
    available    numeric     NOT NULL,
    reserved     numeric     NOT NULL DEFAULT 0,
    blocked      numeric     NOT NULL DEFAULT 0,
    version      bigint,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, jfsku)
);

-- What each shop was last told, so only changed quantities are written.
CREATE TABLE shop_stock (
    merchant_id  text        NOT NULL,
    channel      text        NOT NULL,
    sku          text        NOT NULL,
    quantity     integer     NOT NULL,
    pushed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, channel, sku)
);

-- One row per (merchant, channel, flow): what `ffn-sync status` and /healthz read.
CREATE TABLE flow_health (
    merchant_id          text        NOT NULL,
    channel              text        NOT NULL,
    flow                 text        NOT NULL,
    interval_s           double precision NOT NULL,
    last_run_at          timestamptz,
    last_success_at      timestamptz,
    last_error           text,
    consecutive_failures integer     NOT NULL DEFAULT 0,
    last_counts          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    last_duration_s      double precision,
    PRIMARY KEY (merchant_id, channel, flow)
);
