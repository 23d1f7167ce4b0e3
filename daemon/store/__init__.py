"""Postgres store: pool, embedded server, migrations, merchant leases.

Per-merchant isolation uses **key columns**, not a schema per merchant: every table carries
``merchant_id text not null`` as the first column of its primary key (and of every unique key and
index that serves per-merchant queries). Every query filters on it. Why:

- one pool and one prepared-statement cache serve all merchants; schemas would need ``search_path``
  switching per checkout, which breaks statement caching and is easy to get wrong;
- one migration set, applied once; schemas would multiply migrations by the number of merchants and a
  half-migrated fleet becomes possible;
- cross-merchant operations stay cheap and plain SQL: the ``status`` overview, the metrics, the push
  workers' ``FOR UPDATE SKIP LOCKED`` claims across merchants, deleting a merchant
  (``delete … where merchant_id = $1``);
- ownership in a scale-out is a runtime question answered by advisory-lock leases
  (``daemon.store.lease``), not by where the data lives, so moving a merchant between instances moves
  no data.

Isolation therefore rests on the queries: code that touches merchant data takes ``merchant_id`` as its
first parameter and puts it in every ``WHERE`` clause and key.
"""

from daemon.store.db import Database, create_pool, open_database, safe_dsn
from daemon.store.embedded import EmbeddedPostgres, start_embedded, stop_embedded
from daemon.store.lease import MerchantLease
from daemon.store.migrations import (
    DatabaseNewerThanCode,
    Migration,
    MigrationChecksumMismatch,
    MigrationError,
    MigrationFailed,
    MigrationLayoutError,
    default_migrations_dir,
    load_migrations,
    migrate,
    schema_version,
)

__all__ = [
    "Database",
    "DatabaseNewerThanCode",
    "EmbeddedPostgres",
    "MerchantLease",
    "Migration",
    "MigrationChecksumMismatch",
    "MigrationError",
    "MigrationFailed",
    "MigrationLayoutError",
    "create_pool",
    "default_migrations_dir",
    "load_migrations",
    "migrate",
    "open_database",
    "safe_dsn",
    "schema_version",
    "start_embedded",
    "stop_embedded",
]
