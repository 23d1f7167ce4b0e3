"""WooCommerce date semantics: naive ``YYYY-MM-DDTHH:MM:SS`` strings, local or GMT.

``date_*`` fields are in the site's timezone and ``date_*_gmt`` in UTC, both without a zone suffix.
Filter parameters (``after``, ``modified_after``, …) are compared against the local column unless
``dates_are_gmt=true``; a value carrying an explicit offset is first converted to the site's
timezone (how ``WP_Date_Query`` builds its SQL), which is why clients must send naive UTC values.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_FILTER_DATE = re.compile(
    r"^(?P<naive>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?P<zone>Z|[+-]\d{2}:?\d{2})?$"
)


def fmt_local(moment: datetime | None, tz: ZoneInfo) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(tz).replace(tzinfo=None).isoformat(timespec="seconds")


def fmt_gmt(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def parse_filter_date(raw: str, tz: ZoneInfo) -> datetime:
    """A filter parameter as the naive value it is compared with; ValueError when malformed."""
    match = _FILTER_DATE.match(raw.strip())
    if match is None:
        raise ValueError(f"{raw!r} is not an ISO 8601 date-time")
    naive = datetime.fromisoformat(match.group("naive").replace(" ", "T"))
    zone = match.group("zone")
    if zone is None:
        return naive.replace(microsecond=0)
    aware = datetime.fromisoformat(
        match.group("naive").replace(" ", "T") + ("+00:00" if zone == "Z" else zone)
    )
    return aware.astimezone(tz).replace(tzinfo=None, microsecond=0)
