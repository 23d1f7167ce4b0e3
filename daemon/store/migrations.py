"""Forward-only, numbered, checksummed schema migrations.

Files are named ``NNNN_name.sql`` (versions 1, 2, 3, … without gaps) and live in ``daemon/store/sql/``.
Each file runs in its own transaction, so it must not contain ``BEGIN``/``COMMIT`` or statements that
refuse to run inside a transaction (``CREATE INDEX CONCURRENTLY``, ``VACUUM``). A file that was applied is
never edited again: its sha256 (of the raw bytes, so line-ending conversions count as edits) is stored in
``schema_migrations`` and verified on every start. Changes go into a new file with the next number.

All migrators serialize on one advisory lock, so several instances starting at once apply every file
exactly once; the later ones wait, then find nothing to do.

Rolling upgrades (daemon/store/sql/README.md): a file may start with ``-- oldest-compatible: NNNN``, the lowest
schema version whose code still runs correctly on a database with this migration applied (an expand-only
migration names the previous release's schema version). It is stored with the migration, so code that
does not know the file can still judge it: a database ahead of the code is accepted while every newer
migration names this code's version or an older one. Without the line a migration is incompatible with
all older code (the strict default).

Every ``MigrationError`` carries ``exit_code`` 65 (EX_DATAERR): the database or the shipped migration files
are in a state this code must not touch, and restarting will not change that.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import asyncpg
from loguru import logger

EX_DATAERR = 65
# Fixed 64-bit key outside the int4 range, so it can never equal a hashtext()-derived lease key.
MIGRATION_LOCK_KEY = 0x66666E2D73796E63  # b"ffn-sync"

_FILENAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[A-Za-z0-9][A-Za-z0-9_-]*)\.sql$")
_OLDEST_COMPATIBLE = re.compile(r"^--\s*oldest-compatible:\s*(?P<version>\S+)\s*$", re.MULTILINE)

_CREATE_TABLE = """
create table if not exists schema_migrations (
    version    integer primary key,
    name       text not null,
    checksum   text not null,
    applied_at timestamptz not null default now()
)
"""
# NULL (rows written before rolling upgrades existed): compatible with no older code. Added once, not
# altered on every start (an ALTER locks the table and needs its owner).
_HAS_COMPATIBILITY = """
select exists (select 1 from information_schema.columns
               where table_schema = current_schema() and table_name = 'schema_migrations'
                 and column_name = 'oldest_compatible')
"""
_ADD_COMPATIBILITY = "alter table schema_migrations add column if not exists oldest_compatible integer"

MigrationSource = Path | Traversable


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    filename: str
    sql: str
    checksum: str
    oldest_compatible: int = 0  # 0: read from the file; see the module docstring

    def __post_init__(self) -> None:
        if self.oldest_compatible == 0:
            object.__setattr__(self, "oldest_compatible", self.version)


class MigrationError(Exception):
    exit_code = EX_DATAERR


class MigrationLayoutError(MigrationError):
    """The migration files themselves are malformed: bad name, gap, duplicate number, not UTF-8."""


class MigrationChecksumMismatch(MigrationError):
    def __init__(self, filenames: list[str]) -> None:
        self.filenames = filenames
        super().__init__(
            f"applied migration(s) {', '.join(filenames)} changed after they were applied; "
            "restore the original file(s) and put the change into a new numbered migration"
        )


class DatabaseNewerThanCode(MigrationError):
    def __init__(
        self, database_version: int, code_version: int, oldest_compatible: int | None = None
    ) -> None:
        self.database_version = database_version
        self.code_version = code_version
        self.oldest_compatible = oldest_compatible
        window = (
            f" (it runs with ffn-sync releases of schema {oldest_compatible} or newer)"
            if oldest_compatible is not None
            else ""
        )
        super().__init__(
            f"database schema is at version {database_version}{window} but this ffn-sync knows migrations only "
            f"up to {code_version}; run the newer ffn-sync release or point database.dsn at the right database"
        )


class MigrationFailed(MigrationError):
    def __init__(self, filename: str, reason: str) -> None:
        self.filename = filename
        super().__init__(f"migration {filename} failed and was rolled back: {reason}")


def default_migrations_dir() -> Traversable:
    return files("daemon.store") / "sql"


def load_migrations(directory: MigrationSource | None = None) -> list[Migration]:
    """Read and validate every migration file, ordered by version. Other (non-``.sql``) files are ignored."""
    source = default_migrations_dir() if directory is None else directory
    by_version: dict[int, Migration] = {}
    for entry in source.iterdir():
        if not entry.is_file() or not entry.name.endswith(".sql"):
            continue
        migration = _read(entry)
        if migration.version in by_version:
            raise MigrationLayoutError(
                f"migrations {by_version[migration.version].filename} and {migration.filename} share "
                f"version {migration.version}; renumber the newer one"
            )
        by_version[migration.version] = migration
    ordered = [by_version[v] for v in sorted(by_version)]
    for expected, migration in enumerate(ordered, start=1):
        if migration.version != expected:
            raise MigrationLayoutError(
                f"migration version {expected:04d} is missing (next file is {migration.filename}); "
                "versions must run 0001, 0002, … without gaps"
            )
    return ordered


def _read(entry: Traversable) -> Migration:
    match = _FILENAME.match(entry.name)
    if match is None:
        raise MigrationLayoutError(
            f"migration file {entry.name!r} is misnamed; expected NNNN_name.sql, e.g. 0003_add_ledger.sql"
        )
    raw = entry.read_bytes()
    try:
        sql = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MigrationLayoutError(f"migration file {entry.name} is not UTF-8: {exc}") from exc
    version = int(match["version"])
    return Migration(
        version=version,
        name=match["name"],
        filename=entry.name,
        sql=sql,
        checksum=hashlib.sha256(raw).hexdigest(),
        oldest_compatible=_oldest_compatible(entry.name, version, sql),
    )


def _oldest_compatible(filename: str, version: int, sql: str) -> int:
    declared = _OLDEST_COMPATIBLE.search(sql)
    if declared is None:
        return version
    text = declared["version"]
    if not text.isdigit() or not 1 <= int(text) <= version:
        raise MigrationLayoutError(
            f"migration {filename}: 'oldest-compatible: {text}' must name a schema version from 0001 to "
            f"{version:04d} (the previous release's schema version for an expand-only migration)"
        )
    return int(text)


def code_schema_version(directory: MigrationSource | None = None) -> int:
    """The schema version this code was released with: its highest migration."""
    migrations = load_migrations(directory)
    return migrations[-1].version if migrations else 0


async def migrate(pool: asyncpg.Pool, directory: MigrationSource | None = None) -> list[int]:
    """Apply every pending migration; return the versions applied by this call (empty when up to date).

    Raises ``DatabaseNewerThanCode``, ``MigrationChecksumMismatch``, ``MigrationLayoutError`` or
    ``MigrationFailed`` (all ``MigrationError``) without changing anything already applied.
    """
    migrations = load_migrations(directory)
    async with pool.acquire() as conn:
        if not await conn.fetchval("select pg_try_advisory_lock($1::bigint)", MIGRATION_LOCK_KEY):
            logger.info("another instance is migrating the database; waiting for it to finish")
            await conn.execute("select pg_advisory_lock($1::bigint)", MIGRATION_LOCK_KEY)
        try:
            return await _migrate_locked(conn, migrations)
        finally:
            # A broken connection has lost the lock already; don't mask the original error.
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                await conn.execute("select pg_advisory_unlock($1::bigint)", MIGRATION_LOCK_KEY)
                # The pool does not reset its connections (daemon.store.db._keep_session): the lock and
                # any SET in a migration file must not outlive this connection's turn.
                await conn.reset()


async def _migrate_locked(conn: asyncpg.Connection, migrations: list[Migration]) -> list[int]:
    await conn.execute(_CREATE_TABLE)
    if not await conn.fetchval(_HAS_COMPATIBILITY):
        await conn.execute(_ADD_COMPATIBILITY)
    rows = await conn.fetch(
        "select version, checksum, coalesce(oldest_compatible, version) as oldest_compatible "
        "from schema_migrations order by version"
    )
    applied = {int(row["version"]): str(row["checksum"]) for row in rows}
    _verify(applied, migrations, {int(row["version"]): int(row["oldest_compatible"]) for row in rows})
    done: list[int] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        try:
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "insert into schema_migrations (version, name, checksum, oldest_compatible) "
                    "values ($1, $2, $3, $4)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                    migration.oldest_compatible,
                )
        except asyncpg.PostgresError as exc:
            raise MigrationFailed(migration.filename, f"{type(exc).__name__}: {exc}") from exc
        logger.info("applied migration {}", migration.filename)
        done.append(migration.version)
    return done


def _verify(applied: dict[int, str], migrations: list[Migration], compatible: dict[int, int]) -> None:
    code_version = migrations[-1].version if migrations else 0
    database_version = max(applied, default=0)
    if database_version > code_version:
        # Every migration this code does not know must declare it compatible with this code's schema.
        oldest = max(compatible.get(v, v) for v in applied if v > code_version)
        if oldest > code_version:
            raise DatabaseNewerThanCode(database_version, code_version, oldest)
        logger.warning(
            "database schema is at version {}, ahead of this ffn-sync ({}): running side by side with the "
            "newer release during its rollout (it declared schema {} compatible); upgrade this one next",
            database_version,
            code_version,
            oldest,
        )
    changed = [m.filename for m in migrations if m.version in applied and applied[m.version] != m.checksum]
    if changed:
        raise MigrationChecksumMismatch(changed)


async def schema_version(pool: asyncpg.Pool | asyncpg.Connection) -> int:
    """Highest applied migration version; 0 for a database that was never migrated."""
    if await pool.fetchval("select to_regclass('schema_migrations')") is None:
        return 0
    return int(await pool.fetchval("select coalesce(max(version), 0) from schema_migrations"))
