"""The refused deliveries' WARNING lines, rate-limited: anyone can POST to the receiver, and a forger must not
be able to flood the log (the metrics count every refusal regardless).

The first refusal per (source address, reason) is a WARNING with its detail; further ones are counted and
summarised in at most one WARNING per reason per ``every_s`` (60 s). A sender rotating its address (IPv6
gives it plenty) gets at most ``max_first`` first-refusal lines per reason per period; the rest go into the
summary too. Sources are remembered for ``remember_s`` and at most ``remember`` of them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.webhooks.types import RejectReason

SUMMARY_EVERY_S = 60.0
MAX_FIRST_PER_PERIOD = 10
REMEMBER_S = 3600.0
REMEMBER_SOURCES = 10_000
_MAX_SOURCES_COUNTED = 1_000  # distinct addresses named in a summary's count ("1000+")


@dataclass
class _Period:
    """One reason's refusals since its last summary."""

    started: float
    first_lines: int = 0  # first-refusal WARNINGs written in this period
    suppressed: int = 0
    sources: set[str] = field(default_factory=set)
    last: str = ""  # where the last suppressed refusal came from, for the summary


class RejectLog:
    def __init__(
        self,
        clock: Clock = SYSTEM_CLOCK,
        *,
        every_s: float = SUMMARY_EVERY_S,
        max_first: int = MAX_FIRST_PER_PERIOD,
        remember_s: float = REMEMBER_S,
        remember: int = REMEMBER_SOURCES,
    ) -> None:
        self.clock = clock
        self.every_s = every_s
        self.max_first = max_first
        self.remember_s = remember_s
        self.remember = remember
        self._seen: OrderedDict[tuple[str, RejectReason], float] = OrderedDict()
        self._periods: dict[RejectReason, _Period] = {}

    def refused(self, where: str, source: str, reason: RejectReason, detail: str) -> None:
        now = self.clock.monotonic()
        self._forget_before(now - self.remember_s)
        period = self._periods.get(reason)
        if period is None:
            period = self._periods[reason] = _Period(started=now)
        key = (source, reason)
        if key not in self._seen and period.first_lines < self.max_first:
            period.first_lines += 1
            self._seen[key] = now
            if len(self._seen) > self.remember:
                self._seen.popitem(last=False)
            logger.warning(
                "webhook for {} from {} refused ({}): {} (more refusals like this are summarised once a minute)",
                where,
                source,
                reason.value,
                detail,
            )
        else:
            period.suppressed += 1
            if len(period.sources) < _MAX_SOURCES_COUNTED:
                period.sources.add(source)
            period.last = f"{where} from {source}: {detail}"
        self.flush()

    def flush(self) -> None:
        """Write the summaries that are due (called on every refusal and by the service's periodic loop)."""
        now = self.clock.monotonic()
        for reason, period in list(self._periods.items()):
            if now - period.started < self.every_s:
                continue
            if period.suppressed:
                sources = len(period.sources)
                logger.warning(
                    "webhook refusals ({}): {} more in the last {:.0f}s from {}{} address(es), not logged one by"
                    " one (counted in ffn_sync_webhook_rejects_total); the last: {}",
                    reason.value,
                    period.suppressed,
                    now - period.started,
                    sources,
                    "+" if sources >= _MAX_SOURCES_COUNTED else "",
                    period.last,
                )
            del self._periods[reason]

    def _forget_before(self, horizon: float) -> None:
        while self._seen:
            key, at = next(iter(self._seen.items()))
            if at >= horizon:
                return
            del self._seen[key]
