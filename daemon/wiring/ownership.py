"""One writer per merchant, and a fair share of the merchants for each instance.

Every instance schedules every merchant; a cycle runs only while this instance holds the merchant's lease
(``daemon.store.lease``: a Postgres advisory lock, the one truth) and the lease is *valid* (renewed
recently enough that Postgres cannot have ended it yet). Exactly one writer per FFN account also protects
the single-use FFN refresh token.

Balancing (``ffn-sync run``): a background loop renews the lease every ``timeout/5`` and learns from the
``instances`` table how many instances are alive (N, see ``daemon.store.instances``); each instance owns
at most ⌈M/N⌉ of the M configured merchants. Below that its loop takes free merchants; above it (a
newcomer appeared) it hands the surplus over: a merchant being handed over starts no new cycle, its
running cycles finish, then its lock is released and the newcomer takes it. A killed instance's connection closes with it, so the survivors count one fewer at
their next renewal and take its merchants; a frozen one's lease connection is ended by Postgres after
the lease timeout (``idle_session_timeout``), and the resumed process finds its lease invalid before
its next request (``daemon.fence``). The new owner frees the work claims the old one left
(``daemon.store.lease.VOID_CLAIMS``) and runs a taken merchant's orders flow at once
(``daemon.wiring.takeovers``), so a take-over is bounded by the lease, not by the claims or the grid.

``ffn-sync once`` and ``resync`` do not register as an instance: they take what is free, so a one-shot
run next to a running fleet does not make the fleet hand merchants over to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import socket
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial

import asyncpg
from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.fence import LeaseExpired, fenced
from daemon.store.db import INSTANCE_ID, INSTANCE_TOKEN
from daemon.store.instances import Registration
from daemon.store.lease import DEFAULT_LEASE_TIMEOUT_S, MerchantLease, merchant_list
from daemon.store.migrations import code_schema_version
from daemon.wiring.takeovers import PROMPT_SPREAD_SHARE, PromptRuns, TakeOvers

MIN_LEASE_TIMEOUT_S = 5.0
MAX_LEASE_TIMEOUT_S = 60.0
RENEWALS_PER_TIMEOUT = 5
# A configured merchant nobody owns for this many lease timeouts is reported (one WARNING per episode).
UNOWNED_WARN_TIMEOUTS = 2
_DB_TROUBLE = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
    ConnectionError,
)


def lease_timeout_for(shortest_interval_s: float) -> float:
    """Half the shortest flow interval (within 5..60 s): a frozen instance's merchants are free after it
    and run elsewhere within 2 intervals (timeout + one renewal + the next run of the flow)."""
    return min(MAX_LEASE_TIMEOUT_S, max(MIN_LEASE_TIMEOUT_S, shortest_interval_s / 2))


def registration() -> Registration:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("ffn-sync")
    except PackageNotFoundError:
        release = "unknown"
    return Registration(
        instance_id=INSTANCE_ID,
        token=INSTANCE_TOKEN,
        host=socket.gethostname(),
        pid=os.getpid(),
        version=release,
        schema_version=code_schema_version(),
    )


class Ownership:
    def __init__(
        self,
        dsn: str,
        merchants: Sequence[str] = (),
        *,
        balanced: bool = False,
        lease_timeout_s: float = DEFAULT_LEASE_TIMEOUT_S,
        clock: Clock = SYSTEM_CLOCK,
        me: Registration | None = None,
        take_overs: TakeOvers | None = None,
    ) -> None:
        """``take_overs``: the process' take-over times, shared by the Ownership of each reload (a fresh
        one when not given: a runtime that is never reloaded, tests)."""
        self._dsn = dsn
        self._merchants = list(dict.fromkeys(merchants))
        self.lease_timeout_s = lease_timeout_s
        self._clock = clock
        self._me = me or (registration() if balanced else None)
        self._lease: MerchantLease | None = None
        self._lock = asyncio.Lock()  # jobs of several lanes ask at once; one lease connection serves all
        self._target: int | None = None  # the share, once the first renewal learned it (balanced)
        self.instances_alive = 0
        self._running: dict[str, set[asyncio.Task[object]]] = defaultdict(set)
        self._handing_over: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None
        self._closed = False
        self._renew_failing = False
        self._standing_by: set[str] = set()  # not balanced: merchants another process holds (said once)
        self._renewals = 0
        self._unowned_since: dict[str, float] = {}  # monotonic time this instance first saw it unowned
        self._unowned_reported: set[str] = set()
        self._held: frozenset[str] = frozenset()  # what the last renewal saw held (for take_overs)
        self.take_overs = take_overs or TakeOvers()
        # A merchant taken from another instance runs its orders flow now, not at its next grid point.
        self.prompt_runs = PromptRuns(clock, lease_timeout_s * PROMPT_SPREAD_SHARE)

    @property
    def _holder(self) -> str:
        return self._me.instance_id if self._me is not None else ""

    @property
    def owned(self) -> frozenset[str]:
        return self._lease.owned if self._lease is not None else frozenset()

    def owned_since(self) -> dict[str, datetime]:
        """The merchants this instance runs now (held, not being handed over) and since when it holds
        them: its health judgement covers these only, and a flow's stall clock starts no earlier than
        the take-over (a new owner must not inherit the time its merchant spent with the old one)."""
        now = self._clock.now()
        return {m: self.take_overs.since(m, now) for m in self.owned if m not in self._handing_over}

    @property
    def target(self) -> int | None:
        return self._target

    async def handed_over(self) -> None:
        """Wait until every hand-over under way has released its merchant."""
        while self._handing_over:
            await asyncio.wait(list(self._handing_over.values()))

    async def owns(self, merchant_id: str) -> bool:
        """May a cycle of ``merchant_id`` start now? Answered from memory: held, not being handed over,
        lease valid. Only the renewal loop takes merchants and talks to Postgres, so a fleet's hundreds of
        cycles a minute (or ``once`` starting them all at the same moment) cost no round trip and never
        queue up in front of the renewal."""
        if self._closed:
            return False
        await self._start()
        lease = self._lease
        owned = (
            lease is not None
            and merchant_id not in self._handing_over
            and lease.holds(merchant_id)
            and lease.is_valid()
        )
        if self._me is None and not owned and merchant_id not in self._standing_by:
            # A one-shot run (once, resync) next to a running instance: say why this merchant is skipped.
            logger.info("merchant {} is synced by another instance; skipped here", merchant_id)
            self._standing_by.add(merchant_id)
        return owned

    async def run_if_owned(self, merchant_id: str, run: Callable[[], Awaitable[None]]) -> None:
        """Run one cycle if this instance owns the merchant; the cycle stops at its next request when the
        lease runs out meanwhile (daemon.fence)."""
        if not await self.owns(merchant_id):
            return
        task = asyncio.current_task()
        if task is not None:
            self._running[merchant_id].add(task)
        try:
            with fenced(partial(self._check, merchant_id)):
                await run()
        except LeaseExpired as exc:
            logger.warning("{}", exc)
        finally:
            if task is not None:
                self._running[merchant_id].discard(task)

    def _check(self, merchant_id: str) -> None:
        lease = self._lease
        if lease is None or not lease.holds(merchant_id) or not lease.is_valid():
            raise LeaseExpired(
                f"merchant {merchant_id}: this instance may no longer hold its lease "
                "(database connection lost or the process was stopped); cycle stopped before its next request"
            )

    async def start(self) -> None:
        """Register, learn the share and take it, then keep renewing in the background (idempotent)."""
        await self._start()

    async def _start(self) -> None:
        if self._loop is not None or self._closed:
            return
        self._loop = asyncio.create_task(self._keep(), name="merchant-leases")
        await self.renew()  # the first cycle of each merchant already sees this instance's share

    async def _keep(self) -> None:
        while not self._closed:
            await self._clock.sleep(self.lease_timeout_s / RENEWALS_PER_TIMEOUT)
            await self.renew()

    async def renew(self) -> None:
        """One turn of the loop: renew the lease, learn the share, take or hand over merchants."""
        try:
            # A renewal that hangs (a connection whose process was stopped mid-statement can leave the
            # driver waiting for good) would stop every later one: give up on that connection instead.
            async with asyncio.timeout(self.lease_timeout_s), self._lock:
                lease = await self._live_lease()
                if self._me is None:  # once, resync: everything that is free
                    await lease.heartbeat()
                    target = len(self._merchants)
                else:
                    target = self._learn_share(await lease.renew(self._me, len(self._merchants)))
                held = lease.owned  # a copy: taken once, not per merchant
                owned = held - self._handing_over.keys()
                if len(owned) < target:
                    free = [m for m in self._preference() if m not in held]
                    await lease.acquire(free, limit=target - len(owned))
                elif len(owned) > target:
                    self._hand_over(self._surplus(owned, len(owned) - target))
                await lease.recheck_void_claims()
                self._note_held(lease.owned)
                if self._me is not None and self._renewals % RENEWALS_PER_TIMEOUT == 0:
                    await self._watch_unowned(lease)  # once per lease timeout is enough for a warning
                self._renewals += 1
            if self._renew_failing:
                logger.info("merchant leases renewed again")
            self._renew_failing = False
        except _DB_TROUBLE as exc:
            if not isinstance(exc, asyncpg.PostgresError) and self._lease is not None:
                self._lease.abandon()  # the next turn opens a new lease connection
            if not self._renew_failing:
                logger.warning(
                    "could not renew the merchant leases: {}; retrying", str(exc) or type(exc).__name__
                )
            self._renew_failing = True

    def _note_held(self, owned: frozenset[str]) -> None:
        taken = self.take_overs.note(
            sorted(owned - self._held), self._held - owned, self._clock.now(), self.lease_timeout_s
        )
        # What the first renewal takes is this process starting (its jobs spread over their grid from
        # there); later gains are merchants another instance ran until now.
        if self._renewals and self._me is not None:
            self.prompt_runs.start(taken)
        self._held = owned

    async def _watch_unowned(self, lease: MerchantLease) -> None:
        try:
            unowned, first_alive = await lease.unowned(self._merchants)
        except asyncpg.PostgresError:
            # e.g. a database before 0009 (tests that skip migrations); the next look asks again. A lost
            # connection is the renewal's trouble and reaches its handler.
            return
        now = self._clock.monotonic()
        for merchant_id in [m for m in self._unowned_since if m not in unowned]:
            del self._unowned_since[merchant_id]
            if merchant_id in self._unowned_reported:
                self._unowned_reported.discard(merchant_id)
                logger.info("merchant {} has an owner again", merchant_id)
        for merchant_id in unowned:
            self._unowned_since.setdefault(merchant_id, now)
        limit = UNOWNED_WARN_TIMEOUTS * self.lease_timeout_s
        overdue = [
            m
            for m, since in self._unowned_since.items()
            if now - since > limit and m not in self._unowned_reported
        ]
        # The lowest living instance speaks for the fleet; the others remember the episode silently.
        if not overdue or first_alive != self._holder:
            return
        self._unowned_reported.update(overdue)
        logger.warning(
            "merchant(s) {} have had no owner for over {:.0f}s: no instance runs them (all full, or"
            " their configuration differs between instances?); see `ffn-sync status` (OWNERS)",
            merchant_list(sorted(overdue)),
            limit,
        )

    def _learn_share(self, alive: int) -> int:
        target = math.ceil(len(self._merchants) / max(alive, 1))
        if (alive, target) != (self.instances_alive, self._target):
            logger.info(
                "{} instance(s) alive: this one runs up to {} of {} merchant(s)",
                alive,
                target,
                len(self._merchants),
            )
        self.instances_alive, self._target = alive, target
        return target

    def _preference(self) -> list[str]:
        # Each instance tries the free merchants in its own order, so newcomers do not all race for the
        # same ones.
        token = self._me.token if self._me is not None else ""
        return sorted(self._merchants, key=lambda m: hashlib.blake2b(f"{token}{m}".encode()).digest())

    def _surplus(self, owned: frozenset[str], count: int) -> list[str]:
        # Idle merchants first: their hand-over is immediate.
        return sorted(owned, key=lambda m: (bool(self._running.get(m)), m))[:count]

    def _hand_over(self, merchant_ids: list[str]) -> None:
        logger.info(
            "handing merchant(s) {} over to other instances after their running cycles",
            merchant_list(merchant_ids),
        )
        for merchant_id in merchant_ids:
            task = asyncio.create_task(
                self._release_after_cycles(merchant_id), name=f"hand over {merchant_id}"
            )
            self._handing_over[merchant_id] = task

    async def _release_after_cycles(self, merchant_id: str) -> None:
        try:
            running = {t for t in self._running.get(merchant_id, ()) if not t.done()}
            if running:
                await asyncio.wait(running)
            async with self._lock:
                if self._lease is not None and self._lease.is_alive():
                    await self._lease.release([merchant_id], quiet=True)
        except _DB_TROUBLE as exc:
            logger.warning("could not hand merchant {} over: {}", merchant_id, exc)
        finally:
            self._handing_over.pop(merchant_id, None)

    async def _live_lease(self) -> MerchantLease:
        if self._lease is None or not self._lease.is_alive():
            if self._lease is not None:
                await self._lease.close()
            self._lease = await MerchantLease.connect(
                self._dsn, timeout_s=self.lease_timeout_s, clock=self._clock, instance=self._me
            )
        return self._lease

    async def aclose(self) -> None:
        """Release every merchant: the others take over at their next renewal."""
        self._closed = True
        # A reload's next Ownership takes them back within a lease timeout.
        self.take_overs.let_go(self._held, self._clock.now())
        await self.prompt_runs.aclose()
        tasks = [t for t in (self._loop, *self._handing_over.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, *_DB_TROUBLE):
                await task
        self._loop = None
        if self._lease is not None:
            # The instances row stays ("gone" in status once the connection is closed): after a reload the
            # next runtime of this process renews the same row, so peers never see it leave.
            with contextlib.suppress(*_DB_TROUBLE):
                if self._lease.is_alive():
                    await self._lease.release()
            await self._lease.close()
            self._lease = None
