-- Webhooks (issue 17 follow-up): secret/token rotation and the clean-up of channels no longer configured.
ALTER TABLE webhook_registrations
    -- A new WooCommerce secret / Shopware token staged by `ffn-sync webhooks --rotate`: the daemon's next
    -- registration pass registers it at the shop, accepting both meanwhile, then moves it to `credential`.
    -- Generated with secrets.token_urlsafe(32); never logged.
    ADD COLUMN credential_next text,
    -- The shop's base URL at the last successful registration: names the shop in the warning when a
    -- channel removed from the merchant file (credentials gone) leaves webhooks behind there.
    ADD COLUMN shop_url text;
