"""Outbounds: idempotent create (deterministic outboundId), get, update, cancel."""

from __future__ import annotations

import asyncio

import orjson
from loguru import logger

from adapters.ffn import paths
from adapters.ffn.creating import create_with_retries
from adapters.ffn.errors import NOT_CANCELED_OUTBOUND_EXISTS, OUTBOUND_NOT_FOUND
from adapters.ffn.mapping import create_outbound_body, fulfiller_status, update_outbound_body
from daemon.clock import Clock
from daemon.errors import ManualActionNeeded, RecordError
from daemon.http import HttpClient
from daemon.model import FulfillerStatus, Outbound, OutboundStatus

_JSON = {"Content-Type": "application/json"}


class Outbounds:
    def __init__(self, http: HttpClient, *, oversale: bool, clock: Clock, attempts: int, backoff_s: float):
        self._http = http
        self._params = {"oversale": True} if oversale else None
        self._clock = clock
        self._attempts = attempts
        self._backoff_s = backoff_s
        # FFN serializes creation per merchant (423 Outbounds_OutboundCreationIsLocked); so do we.
        self._create_lock = asyncio.Lock()

    async def create(self, outbound: Outbound) -> str:
        # Everything that does not need the lock is done before it: creates go out one at a time, so
        # whatever runs while the lock is held is paid once per order on the critical path.
        body = orjson.dumps(create_outbound_body(outbound))
        label = f"outbound {outbound.outbound_id} (order {outbound.merchant_outbound_number})"

        async def attempt() -> str:
            try:
                response = await self._http.request(
                    "POST", paths.OUTBOUNDS, params=self._params, data=body, headers=_JSON, ok=(201, 200)
                )
            except RecordError as exc:
                if exc.vendor_code == NOT_CANCELED_OUTBOUND_EXISTS:
                    return await self._adopt(outbound, exc)
                raise
            return str(response.json()["outboundId"])

        async with self._create_lock:
            created = await create_with_retries(
                label, attempt, clock=self._clock, attempts=self._attempts, backoff_s=self._backoff_s
            )
        # The next create waiting for the lock goes out before this one's caller records it (its
        # outcome, history and log line): that work then overlaps FFN's handling of the next create
        # instead of delaying it.
        await asyncio.sleep(0)
        return created

    async def _adopt(self, outbound: Outbound, exc: RecordError) -> str:
        existing_id = str(exc.details.get("OutboundId") or outbound.outbound_id)
        if existing_id != outbound.outbound_id:
            # Same merchantOutboundNumber under another id: adopt only if it really is this order.
            found = await self.get(existing_id)
            if found is None or found.merchant_outbound_number != outbound.merchant_outbound_number:
                raise RecordError(
                    f"order {outbound.merchant_outbound_number}: FFN reports an active outbound {existing_id} "
                    f"that does not belong to it; check the order-number prefix of this channel",
                    upstream="ffn",
                    vendor_code=exc.vendor_code,
                    details=exc.details,
                ) from exc
        logger.info(
            f"ffn outbound {existing_id} already exists for order {outbound.merchant_outbound_number}; adopted"
        )
        return existing_id

    async def get(self, outbound_id: str) -> FulfillerStatus | None:
        try:
            doc = await self._http.get_json(paths.outbound(outbound_id))
        except RecordError as exc:
            if exc.vendor_code == OUTBOUND_NOT_FOUND or exc.status == 404:
                return None
            raise
        return fulfiller_status(doc)

    async def update(self, outbound: Outbound) -> None:
        await self._http.request(
            "PATCH",
            paths.outbound(outbound.outbound_id),
            params=self._params,
            json=update_outbound_body(outbound),
            idempotent=True,
        )

    async def cancel(self, outbound_id: str, reason: str) -> None:
        body = {"status": OutboundStatus.CANCELED.value, "cancelReason": reason[:255]}
        try:
            await self._http.request("PUT", paths.outbound_status(outbound_id), json=body)
        except ManualActionNeeded as exc:
            if str(exc.details.get("From")) == OutboundStatus.CANCELED.value:
                return  # already canceled (e.g. our own earlier attempt whose answer was lost)
            raise
