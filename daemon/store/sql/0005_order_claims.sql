-- Work in flight is claimed explicitly (claimed_by, claimed_until) instead of by pushing
-- next_attempt_at forward: a claim can be released at once (graceful stop, a new lease holder)
-- without touching the retry schedule, and extended while the work runs.
--
-- claim_key names what must never be written twice at once: every row about one shop order
-- (the order itself, its shipments, its fulfiller statuses) shares one key per channel, so
-- at most one of them is in flight, whichever flow, batch or process claims it.
ALTER TABLE snapshot
    ADD COLUMN claimed_by    text,
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN claim_key     text NOT NULL GENERATED ALWAYS AS (
        CASE
            WHEN entity IN ('shipment', 'fstatus') THEN 'order:' || coalesce(payload->>'order_id', external_id)
            WHEN entity = 'order' THEN 'order:' || external_id
            ELSE entity || ':' || external_id
        END
    ) STORED;

CREATE INDEX snapshot_claims ON snapshot (merchant_id, channel, claim_key) WHERE claimed_until IS NOT NULL;
