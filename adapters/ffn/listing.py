"""Reading OData-paged lists (``$top``/``$skip``) to the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from adapters.ffn import paths
from daemon.http import HttpClient, follow_pages


def paged_items(
    http: HttpClient, path: str, *, page_size: int, filter_expr: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Every item of a ``Paged*Response`` list. Stops on a short page: ``_page.total`` is documented
    as "total pages" and is not relied on."""

    async def fetch(skip: int | None) -> tuple[Sequence[dict[str, Any]], int | None]:
        offset = skip or 0
        params: dict[str, Any] = {"$top": page_size, "$skip": offset}
        if filter_expr:
            params["$filter"] = filter_expr
        body = await http.get_json(paths.odata(path, params))
        items = list((body or {}).get("items") or [])
        return items, (offset + len(items) if len(items) >= page_size else None)

    return follow_pages(fetch)
