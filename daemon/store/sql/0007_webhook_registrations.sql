-- Webhooks (issue 17): per shop channel, the credential ffn-sync generated for the shop's deliveries and the
-- state of its registration there. A delivery is only a trigger; nothing here is order data.
CREATE TABLE webhook_registrations (
    merchant_id        text        NOT NULL,
    channel            text        NOT NULL,
    kind               text        NOT NULL,
    -- WooCommerce: the HMAC secret registered with each webhook; Shopware: the token in the delivery URL
    -- (its webhooks are unsigned). Shopify signs with the app secret from the config: NULL here.
    -- Generated with secrets.token_urlsafe(32) (256 bits); never logged.
    credential         text,
    -- off: webhooks switched off (ours removed) | pending: not registered yet | registered | failed
    state              text        NOT NULL DEFAULT 'pending',
    topics             text[]      NOT NULL DEFAULT '{}',
    -- The shop's answer at the last registration: [{"topic", "remote_id", "active"}] (addresses omitted:
    -- Shopware's carries the token).
    subscriptions      jsonb       NOT NULL DEFAULT '[]',
    last_error         text,
    last_registered_at timestamptz,
    -- Since when it has been registered without interruption: "silent" counts from here until a delivery.
    registered_since   timestamptz,
    last_delivery_at   timestamptz,
    -- "<public_url>/webhooks/<merchant>/<channel>" at the last registration: ours at the shop start with it
    -- (a changed public_url removes those under the old one first). Never the token.
    address_prefix     text,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, channel)
);
