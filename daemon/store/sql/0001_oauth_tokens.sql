-- OAuth tokens per (merchant, upstream). FFN refresh tokens are single-use: the newest one must be
-- durable before the access token that came with it is used.
CREATE TABLE oauth_tokens (
    merchant_id   text        NOT NULL,
    upstream      text        NOT NULL,
    access_token  text        NOT NULL,
    refresh_token text        NOT NULL,
    expires_at    timestamptz NOT NULL,
    rotated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, upstream)
);
