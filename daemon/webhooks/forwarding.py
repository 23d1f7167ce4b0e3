"""Several instances behind one address: a delivery may reach an instance that does not own the merchant.
That instance answers it as usual; its flow run, finding the merchant owned elsewhere, hands the nudge over
through Postgres NOTIFY (``daemon.store.wake.announce_nudge``) and the owner runs the flow now.

Any database role can NOTIFY, so a handed-over nudge is checked like a login announcement: a configured
merchant, a channel serving webhooks, a flow the channel's webhooks nudge. At worst a forged one makes the
owner read its shop once more, as a genuine delivery would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import orjson
from loguru import logger

from daemon.webhooks.endpoint import Endpoint
from daemon.webhooks.receiver import Trigger
from daemon.webhooks.types import Delivery

Owns = Callable[[str], Awaitable[bool]]
FORWARDED_TOPIC = "(handed over by another instance)"
_MAX_LOGGED = 120


def parse_forwarded(
    payload: str, endpoints: Mapping[tuple[str, str], Endpoint]
) -> tuple[Endpoint, Delivery] | str:
    """The endpoint and the delivery a handed-over nudge stands for, or why it is refused."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return "not JSON"
    if not isinstance(data, dict):
        return "not a JSON object"
    merchant, channel, flow, new = (data.get(k) for k in ("merchant", "channel", "flow", "new"))
    if not (isinstance(merchant, str) and isinstance(channel, str) and isinstance(flow, str)):
        return "merchant, channel and flow must be strings"
    endpoint = endpoints.get((merchant, channel))
    if endpoint is None:
        return f"no channel {merchant[:64]!r}/{channel[:64]!r} with webhooks on here"
    known = {f.value: f for f in endpoint.flows}
    if flow not in known:
        return f"webhooks of {merchant}/{channel} do not nudge {flow[:64]!r}"
    return endpoint, Delivery(FORWARDED_TOPIC, known[flow], None, new_record=new is True)


async def take_forwarded(
    payload: str, endpoints: Mapping[tuple[str, str], Endpoint], trigger: Trigger, owns: Owns | None
) -> str | None:
    """Run the nudged flow here if this instance owns the merchant; returns the job triggered."""
    parsed = parse_forwarded(payload, endpoints)
    if isinstance(parsed, str):
        logger.warning("ignored a handed-over webhook nudge ({}): {!r}", parsed, payload[:_MAX_LOGGED])
        return None
    endpoint, delivery = parsed
    if owns is not None and not await owns(endpoint.merchant):
        return None  # another standby: the owner takes it
    job = endpoint.nudge(delivery)
    if job is None or not trigger(job):
        return None
    logger.debug("webhook nudge handed over by another instance: {} runs now", job)
    return job


__all__ = ["FORWARDED_TOPIC", "Owns", "parse_forwarded", "take_forwarded"]
