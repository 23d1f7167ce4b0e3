"""Reading a ``modified_after`` window that keeps changing while it is read.

Rows come ``orderby=modified&order=asc``. An order edited mid-scan jumps to the end and plain offset
paging would skip the row that slides into its place, so whenever a page ends later than the
current lower bound the scan restarts at page 1 from that page's last ``date_modified_gmt`` (minus
one second, the bound being exclusive and second-grained), and rows already seen are dropped by
``(id, date_modified_gmt)``. Only the rows of that last second are read twice. Page numbers advance
only while a single second holds more rows than a page. Links are never followed as given: WordPress copies every query parameter into them, the
consumer secret included in query-auth mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from adapters.woocommerce.errors import decode
from adapters.woocommerce.mapping import format_gmt, parse_gmt
from daemon.http import HttpClient, Response
from daemon.http.errors import header

_ONE_SECOND = timedelta(seconds=1)


def has_next(response: Response, page: int, rows: int, per_page: int) -> bool:
    """Stop on a short page or a missing ``rel="next"``; ``X-WP-TotalPages`` only without a Link."""
    if rows < per_page:
        return False
    link = header(response.headers, "Link")
    if link is not None:
        return 'rel="next"' in link
    total_pages = header(response.headers, "X-WP-TotalPages")
    return total_pages is None or (total_pages.isdigit() and page < int(total_pages))


async def changed_pages(
    http: HttpClient,
    path: str,
    params: Mapping[str, Any],
    *,
    after: datetime,
    before: datetime,
    per_page: int,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Pages of rows modified in ``(after, before)``, each row once per modification time."""
    seen: dict[tuple[Any, str], datetime] = {}
    page = 1
    while True:
        query = {
            **params,
            "modified_after": format_gmt(after),
            "modified_before": format_gmt(before),
            "dates_are_gmt": "true",
            "orderby": "modified",
            "order": "asc",
            "per_page": per_page,
            "page": page,
        }
        response = await http.request("GET", path, params=query)
        rows: list[dict[str, Any]] = decode(response, list, f"GET {path} page {page}")
        fresh = []
        stamps = []
        for row in rows:
            modified = parse_gmt(row.get("date_modified_gmt")) or after
            stamps.append(modified)
            key = (row.get("id"), str(row.get("date_modified_gmt")))
            if key not in seen:
                seen[key] = modified
                fresh.append(row)
        if fresh:
            yield fresh
        if not has_next(response, page, len(rows), per_page):
            return
        restart_from = max(stamps) - _ONE_SECOND
        # A page lying wholly in one second would only be read again; then the page number moves on.
        if restart_from > after and min(stamps) <= restart_from:
            after, page = restart_from, 1
            # Only rows newer than the bound can come back; forget the rest to keep memory flat.
            seen = {k: v for k, v in seen.items() if v > after}
        else:
            page += 1


async def all_pages(
    http: HttpClient, path: str, params: Mapping[str, Any], *, per_page: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every page of a small, stable collection (a product's variations)."""
    page = 1
    while True:
        response = await http.request("GET", path, params={**params, "per_page": per_page, "page": page})
        rows: list[dict[str, Any]] = decode(response, list, f"GET {path} page {page}")
        if rows:
            yield rows
        if not has_next(response, page, len(rows), per_page):
            return
        page += 1
