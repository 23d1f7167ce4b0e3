-- GDPR: names, addresses, e-mails and phone numbers in order payloads are removed a configurable time
-- ([merchant] personal_data_days) after the order is closed; ids, hashes and states stay.
-- closed_at: when the purge job first saw the order closed (shipped, cancelled, or not to be exported);
-- personal_data_purged_at: when its payload was cleaned.
ALTER TABLE snapshot ADD COLUMN closed_at timestamptz, ADD COLUMN personal_data_purged_at timestamptz;
CREATE INDEX snapshot_purge_due ON snapshot (merchant_id, closed_at)
    WHERE entity = 'order' AND closed_at IS NOT NULL AND personal_data_purged_at IS NULL;
