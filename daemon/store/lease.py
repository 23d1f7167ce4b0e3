"""Merchant ownership across instances sharing one Postgres.

An instance owns a merchant while it holds the session-level advisory lock
``hashtext('ffn-sync:merchant:' || merchant_id)`` on its dedicated lease connection. The lock dies with
the connection, so a crashed or partitioned instance loses its merchants and another one takes them over
on its next ``acquire``. The connection is kept out of the pool on purpose: pools reset connections
(``pg_advisory_unlock_all``) when they are released.

Ownership is only as fresh as the last round trip: after the connection drops there is a short window
until ``is_alive()`` turns false (the termination listener fires when the socket closes), so the work
itself must stay idempotent (it is: deterministic ids and ``FOR UPDATE SKIP LOCKED`` claims owned by
their claimer). Check ``is_valid()`` before each cycle and each request (``daemon.fence``); it costs no
round trip while the renewals keep it valid, ``heartbeat()`` renews when they did not.

Taking a merchant frees the work claims (snapshot rows in flight) of earlier holders whose own fence
already stops them (``VOID_CLAIMS``): a killed one (no connection left) and a frozen or cut-off one (no
lease connection, no renewal for a lease timeout), so a take-over never waits for their claims to run
out. The renewals after a take-over look again for a while (``VOID_CLAIMS_RECHECK_TIMEOUTS``): a holder's
backend frees its locks a moment before it leaves ``pg_stat_activity``. Claims of this process and of an
earlier holder that may still be working run out on their own.

``hashtext`` is 32 bits: two merchant ids may share a key; then one instance simply owns both.

A *frozen* holder (SIGSTOP, a VM paused: socket open, nobody answering) would keep its locks forever, so
the lease connection sets ``idle_session_timeout``: a session that sends nothing for ``timeout_s`` is
ended by Postgres, and its locks with it. The holder renews (``renew``, a statement on this connection)
several times per timeout. Each answered round trip makes the lease *valid* until ``timeout_s`` × 0.75
after the moment it was SENT, on this process' monotonic clock: Postgres cannot end the session earlier
than ``timeout_s`` after that moment, so while ``is_valid()`` the locks are certainly held, and a process
resuming after a longer freeze finds its lease invalid before it does anything (``daemon.fence``).
On a server without ``idle_session_timeout`` (Postgres < 14) peers end the stale lease connection
instead (``daemon.store.instances.end_stale_peers``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from types import TracebackType
from typing import Self

import asyncpg
from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.store import instances
from daemon.store.db import APPLICATION_NAME, INSTANCE_ID, LEASE_APPLICATION_NAME

LEASE_KEY_PREFIX = "ffn-sync:merchant:"
HEARTBEAT_TIMEOUT_S = 5.0
DEFAULT_LEASE_TIMEOUT_S = 30.0
# Of the time Postgres grants an idle lease connection, what this process trusts itself: the rest covers
# a write already on its way when validity ends, and clock-rate differences.
VALID_SHARE = 0.75

# The LIMIT stops the scan (and so the locking) once enough merchants were taken; no ORDER BY, which
# would evaluate (lock) every row before sorting. LIMIT NULL: no limit.
_TRY_LOCK = """
select id from unnest($1::text[]) as id
where pg_try_advisory_lock(hashtext($2 || id))
limit $3
"""
# A claim of another process is void for the merchant's new lease holder once that process' own fence
# (daemon.fence) refuses its every request: either it has no connection left at all (killed; also
# the rule for one-shot runs and databases before 0009, which have no ``instances`` row), or it is a
# registered instance with no lease connection whose last renewal is a full lease timeout old. Its lease
# was valid at most VALID_SHARE × timeout after a renewal was SENT (heartbeat_at is no earlier), so
# that process stopped starting requests at least a quarter timeout ago, on its own clock, even if it
# is frozen with its pool connections open (SIGSTOP: Postgres ended only the idle lease connection).
# What it may still have in flight (a request sent before it froze, or one that passed the fence check
# and reaches the wire only after it resumes) meets the new owner's repeat: FFN answers a second create
# of the same deterministic outbound id with Outbounds_NotCanceledOutboundExists and the client adopts
# the outbound; the shop write-backs read the order before writing (Shopify: a fulfilment carrying the
# shipment's tracking number, and a whole shipment finds nothing left to fulfil; Shopware: the absolute
# tracking list, a transition already reached; WooCommerce: trackings and applied shipment ids), so a
# write that landed before the repeat's read is not made twice. Only a request still unanswered a
# quarter timeout after its sender's lease ran out (or frozen between the fence check and the wire)
# could race the repeat; before, the same race came when the claim ran out (60 s). Late outcomes match
# nothing: every outcome requires ``claimed_by`` = its writer (Snapshot._set, batches._DONE). Our own
# claims are never void: a new lease of this process (the old lease connection dropped) finds its own
# work still running.
VOID_CLAIMS = """
UPDATE snapshot AS s SET claimed_by = NULL, claimed_until = NULL
WHERE s.merchant_id = ANY($1::text[]) AND s.claimed_until IS NOT NULL
  AND s.claimed_by IS DISTINCT FROM $2
  AND (
      NOT EXISTS (
          SELECT 1 FROM pg_stat_activity a
          WHERE a.application_name LIKE $3 || ' %'
            AND s.claimed_by LIKE '%:' || substring(a.application_name from '[^ ]+$')
      )
      OR EXISTS (
          SELECT 1 FROM instances i
          WHERE i.instance_id = s.claimed_by
            AND i.heartbeat_at <= now() - make_interval(secs => i.lease_timeout_s)
            AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = $4 || i.token)
      )
  )
"""
# A database before 0009 has no instances table: only a claimer with no connection left is known gone.
_VOID_CLAIMS_BEFORE_0009 = """
UPDATE snapshot AS s SET claimed_by = NULL, claimed_until = NULL
WHERE s.merchant_id = ANY($1::text[]) AND s.claimed_until IS NOT NULL
  AND s.claimed_by IS DISTINCT FROM $2
  AND NOT EXISTS (
      SELECT 1 FROM pg_stat_activity a
      WHERE a.application_name LIKE $3 || ' %'
        AND s.claimed_by LIKE '%:' || substring(a.application_name from '[^ ]+$')
  )
"""
# After a take-over the renewals look for void claims again for this many lease timeouts: the earlier
# holder's connections leave pg_stat_activity a moment after its locks are free, and a holder cut off
# (not frozen) reaches its last-renewal bound up to a timeout after losing the lease.
VOID_CLAIMS_RECHECK_TIMEOUTS = 2.0
_UNLOCK = "select pg_advisory_unlock(hashtext($2 || id)) from unnest($1::text[]) as id"


def merchant_list(merchant_ids: Iterable[str], shown: int = 12) -> str:
    """Merchant ids for a log line: all of a few, the count and the first ones of a fleet."""
    ordered = sorted(merchant_ids)
    if len(ordered) <= shown:
        return ", ".join(ordered)
    return f"{len(ordered)}: {', '.join(ordered[:shown])}, …"


class MerchantLease:
    """Holds merchant locks on one dedicated connection (see the module docstring)."""

    def __init__(
        self,
        connection: asyncpg.Connection,
        *,
        timeout_s: float = DEFAULT_LEASE_TIMEOUT_S,
        clock: Clock = SYSTEM_CLOCK,
        instance_id: str = INSTANCE_ID,
    ) -> None:
        self._conn = connection
        self.instance_id = instance_id
        self._owned: set[str] = set()
        self._taken_at: dict[str, float] = {}  # merchant -> monotonic time this lease took it
        self._lost = False
        self._lock = asyncio.Lock()
        self.timeout_s = timeout_s
        self._clock = clock
        self._valid_until = clock.monotonic() + timeout_s * VALID_SHARE  # the connect itself was a round trip
        connection.add_termination_listener(self._on_terminated)

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        timeout_s: float = DEFAULT_LEASE_TIMEOUT_S,
        clock: Clock = SYSTEM_CLOCK,
        instance: instances.Registration | None = None,
    ) -> Self:
        """``instance``: whose lease this is (default: this process); its token names the connection,
        which is how peers see that the instance is alive."""
        sent = clock.monotonic()
        name = LEASE_APPLICATION_NAME if instance is None else instances.lease_application_name(instance)
        conn = await asyncpg.connect(dsn, server_settings={"application_name": name})
        try:
            # Postgres ends the session (and frees its locks) once nothing arrived for timeout_s.
            await conn.execute(
                f"SET idle_session_timeout = {int(timeout_s * 1000)};"
                f"SET idle_in_transaction_session_timeout = {int(timeout_s * 1000)}"
            )
        except asyncpg.UndefinedObjectError:
            logger.warning(
                "Postgres before 14 has no idle_session_timeout: a frozen instance's merchants are freed "
                "by its peers instead, after {:.0f} s",
                timeout_s * 1.5,
            )
        lease = cls(
            conn,
            timeout_s=timeout_s,
            clock=clock,
            instance_id=INSTANCE_ID if instance is None else instance.instance_id,
        )
        lease._valid_until = sent + timeout_s * VALID_SHARE
        return lease

    @property
    def owned(self) -> frozenset[str]:
        return frozenset(self._owned) if self.is_alive() else frozenset()

    def holds(self, merchant_id: str) -> bool:
        """``merchant_id in owned`` without copying the set: asked before every cycle and request."""
        return merchant_id in self._owned and self.is_alive()

    def is_alive(self) -> bool:
        """False once the connection is known to be gone: every lock it held is released by then."""
        return not self._lost and not self._conn.is_closed()

    def is_valid(self) -> bool:
        """Alive and renewed recently enough that Postgres cannot have ended the session yet (in-memory)."""
        return self.is_alive() and self._clock.monotonic() < self._valid_until

    async def renew(self, me: instances.Registration, merchants: int) -> int:
        """Renew the lease and this process' ``instances`` row; return how many instances are alive.
        Ends the lease connections of peers that stopped renewing. Raises when the connection failed
        (then the lease is lost)."""
        async with self._lock:
            self._require_alive()
            sent = self._clock.monotonic()
            try:
                alive = await instances.renew(self._conn, me, self.timeout_s, merchants)
                ended = await instances.end_stale_peers(self._conn, me)
            except BaseException:
                self._mark_lost_if_closed()
                raise
            self._valid_until = sent + self.timeout_s * VALID_SHARE
        if ended:
            logger.warning("ended the lease connection of {} instance(s) that stopped renewing", ended)
        return alive

    async def acquire(self, merchant_ids: Iterable[str], *, limit: int | None = None) -> set[str]:
        """Try to take each merchant not yet owned (in the given order, at most ``limit`` new ones);
        return which of ``merchant_ids`` this instance owns now."""
        ordered = list(dict.fromkeys(merchant_ids))
        wanted = set(ordered)
        async with self._lock:
            self._require_alive()
            missing = [m for m in ordered if m not in self._owned]
            if missing and (limit is None or limit > 0):
                try:
                    rows = await self._conn.fetch(_TRY_LOCK, missing, LEASE_KEY_PREFIX, limit)
                except BaseException:
                    self._mark_lost_if_closed()
                    raise
                gained = {str(row["id"]) for row in rows}
                if gained:
                    await self._record_owner(sorted(gained))
                    freed = await self._void_claims(sorted(gained))
                    now = self._clock.monotonic()
                    self._taken_at.update(dict.fromkeys(gained, now))
                    logger.info(
                        "lease: now owning merchant(s) {}{}",
                        merchant_list(gained),
                        f"; freed {freed} claim(s) left by an earlier holder" if freed else "",
                    )
                self._owned |= gained
            return wanted & self._owned

    async def _record_owner(self, merchant_ids: list[str]) -> None:
        try:
            await instances.record_owner(self._conn, merchant_ids, self.instance_id)
        except asyncpg.UndefinedTableError:
            pass  # a database of a release before 0009 (only tests that skip migrations get here)
        except BaseException:
            self._mark_lost_if_closed()
            raise

    async def recheck_void_claims(self) -> int:
        """Free the void claims (``VOID_CLAIMS``) of merchants taken within the last
        ``VOID_CLAIMS_RECHECK_TIMEOUTS`` lease timeouts; return how many were freed. No statement when
        there was no recent take-over."""
        horizon = self._clock.monotonic() - VOID_CLAIMS_RECHECK_TIMEOUTS * self.timeout_s
        self._taken_at = {m: at for m, at in self._taken_at.items() if at >= horizon and m in self._owned}
        if not self._taken_at:
            return 0
        async with self._lock:
            self._require_alive()
            freed = await self._void_claims(sorted(self._taken_at))
        if freed:
            logger.info(
                "lease: freed {} claim(s) left by an earlier holder of merchant(s) {}",
                freed,
                merchant_list(self._taken_at),
            )
        return freed

    async def _void_claims(self, merchant_ids: list[str]) -> int:
        # Only the lease holder starts work on a merchant's rows: a claim of an earlier holder that its
        # own fence stops (see VOID_CLAIMS) only keeps the order from running; free it at once.
        try:
            try:
                result = await self._conn.execute(
                    VOID_CLAIMS,
                    merchant_ids,
                    INSTANCE_ID,
                    APPLICATION_NAME,
                    instances.LEASE_APPLICATION_PREFIX,
                )
            except asyncpg.UndefinedTableError:
                result = await self._conn.execute(
                    _VOID_CLAIMS_BEFORE_0009, merchant_ids, INSTANCE_ID, APPLICATION_NAME
                )
        except BaseException:
            self._mark_lost_if_closed()
            raise
        return int(result.split()[-1])

    async def unowned(self, merchant_ids: list[str]) -> tuple[list[str], str | None]:
        """``instances.unowned`` on the lease connection."""
        async with self._lock:
            self._require_alive()
            try:
                return await instances.unowned(self._conn, merchant_ids)
            except BaseException:
                self._mark_lost_if_closed()
                raise

    async def release(self, merchant_ids: Iterable[str] | None = None, *, quiet: bool = False) -> None:
        """Give up the given merchants (all when None) so another instance can take them. ``quiet``: the
        caller announced it already (a hand-over), the release itself is logged at DEBUG."""
        async with self._lock:
            dropping = sorted(self._owned if merchant_ids is None else self._owned & set(merchant_ids))
            self._owned -= set(dropping)
            if dropping and self.is_alive():
                try:
                    await instances.forget_owner(self._conn, dropping, self.instance_id)
                    await self._conn.execute(_UNLOCK, dropping, LEASE_KEY_PREFIX)
                except BaseException:
                    self._mark_lost_if_closed()
                    raise
                logger.log(
                    "DEBUG" if quiet else "INFO", "lease: released merchant(s) {}", merchant_list(dropping)
                )

    async def heartbeat(self) -> bool:
        """Round trip to the server; return ``is_alive()`` afterwards. Never raises."""
        if not self.is_alive():
            return False
        try:
            async with self._lock:
                sent = self._clock.monotonic()
                await self._conn.fetchval("select 1", timeout=HEARTBEAT_TIMEOUT_S)
                self._valid_until = sent + self.timeout_s * VALID_SHARE
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            logger.warning("lease connection failed ({}); merchant ownership lost", type(exc).__name__)
            self._mark_lost()
        return self.is_alive()

    async def close(self) -> None:
        """Close the connection; Postgres releases every lock it held."""
        self._owned.clear()
        if not self._conn.is_closed():
            await self._conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def abandon(self) -> None:
        """Drop the connection without a goodbye (its state is unknown): Postgres frees every lock."""
        self._mark_lost()

    def _require_alive(self) -> None:
        if not self.is_alive():
            raise ConnectionError("merchant lease connection is gone; open a new MerchantLease")

    def _mark_lost_if_closed(self) -> None:
        # e.g. pg_terminate_backend answers with AdminShutdownError and then closes the connection
        if self._conn.is_closed():
            self._mark_lost()

    def _mark_lost(self) -> None:
        if self._owned:
            logger.warning("lease: lost merchant(s) {}", merchant_list(self._owned))
        self._lost = True
        self._owned.clear()
        if not self._conn.is_closed():
            self._conn.terminate()

    def _on_terminated(self, _conn: asyncpg.Connection) -> None:
        if not self._lost:
            self._mark_lost()
