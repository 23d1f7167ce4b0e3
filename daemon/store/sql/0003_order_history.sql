-- What happened to each shop order, for `ffn-sync trace`: pulls, gate decisions, exports, edits, cancels.
-- Bounded: an event equal to the order's previous one is not stored again (a waiting order re-read every
-- cycle adds nothing), and reconcile deletes events older than 90 days.
CREATE TABLE order_events (
    merchant_id  text        NOT NULL,
    channel      text        NOT NULL,
    order_id     text        NOT NULL,
    seq          bigint      GENERATED ALWAYS AS IDENTITY,
    at           timestamptz NOT NULL,
    kind         text        NOT NULL,  -- pulled, gate, exported, updated, cancelled, manual
    detail       text        NOT NULL,
    PRIMARY KEY (merchant_id, channel, order_id, seq)
);
CREATE INDEX order_events_age ON order_events (merchant_id, at);

-- Why a shop last refused a SKU's stock (unknown_sku, not_managed), and when that was last reported:
-- reported once a day, not every cycle.
ALTER TABLE shop_stock ADD COLUMN failure text, ADD COLUMN reported_at timestamptz;

-- The orders the stock formula reserves (daemon/engine/reservations.py), found without scanning every
-- order settled long ago: those not in FFN, and those just exported (until FFN's stock shows them).
CREATE INDEX snapshot_reserving ON snapshot (merchant_id)
    WHERE entity = 'order' AND remote_status IS NULL
      AND (state IN ('pending', 'failed') OR (state = 'skipped' AND reason_code = 'waiting'));
CREATE INDEX snapshot_handover ON snapshot (merchant_id, pushed_at)
    WHERE entity = 'order' AND remote_status = 'Pending';
