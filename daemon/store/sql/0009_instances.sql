-- oldest-compatible: 0008
-- Expand only (README.md here): two new tables; release 0008 runs unchanged next to them.
-- Several ffn-sync processes on one Postgres (issue 18). The advisory locks stay the truth of who owns a
-- merchant; these rows say who is alive (balancing) and what an operator sees in `ffn-sync status`.

-- One row per running process, renewed on its lease connection (daemon.store.instances).
CREATE TABLE instances (
    instance_id     text        PRIMARY KEY,       -- host:pid:token, as in the work claims
    token           text        NOT NULL UNIQUE,   -- the suffix of the process' connection application_name
    host            text        NOT NULL,
    pid             integer     NOT NULL,
    version         text        NOT NULL,
    schema_version  integer     NOT NULL,
    lease_timeout_s real        NOT NULL,          -- its lease connection dies after this long without a renewal
    merchants       integer     NOT NULL DEFAULT 0, -- merchants in its configuration
    started_at      timestamptz NOT NULL DEFAULT now(),
    heartbeat_at    timestamptz NOT NULL DEFAULT now()
);

-- Who took each merchant and when (informational: written by the holder right after its lock).
CREATE TABLE merchant_owners (
    merchant_id text        PRIMARY KEY,
    instance_id text        NOT NULL,
    since       timestamptz NOT NULL DEFAULT now()
);
