"""WooCommerce's error shape, collection headers and the hosting layer's HTML error pages."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import web

from sandboxes.kit import Faults
from sandboxes.kit.kit import json_response
from sandboxes.kit.tenants import public_url

MAX_PER_PAGE = 100
T = TypeVar("T")


def wc_error(code: str, message: str, status: int, **data: Any) -> web.Response:
    return json_response(
        {"code": code, "message": message, "data": {"status": status, **data}}, status=status
    )


def invalid_param(name: str, reason: str) -> web.Response:
    return wc_error(
        "rest_invalid_param", f"Invalid parameter(s): {name}", 400, params={name: reason}, details={}
    )


def no_route() -> web.Response:
    return wc_error("rest_no_route", "No route was found matching the URL and request method.", 404)


class PageRequest:
    """``page``/``per_page``/``offset`` of a collection request; ValueError names the bad parameter."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.page = _int_param(request, "page", 1, minimum=1)
        self.per_page = _int_param(request, "per_page", 10, minimum=1)
        if self.per_page > MAX_PER_PAGE:
            raise ValueError("per_page")
        self.offset = _int_param(request, "offset", -1, minimum=0) if "offset" in request.query else None

    def respond(self, rows: Sequence[T], render: Callable[[T], dict[str, Any]]) -> web.Response:
        """The requested page of ``rows``; only that page is rendered."""
        total = len(rows)
        start = self.offset if self.offset is not None else (self.page - 1) * self.per_page
        body = [render(row) for row in rows[start : start + self.per_page]]
        pages = (total + self.per_page - 1) // self.per_page
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        link = self._link(pages)
        if link:
            headers["Link"] = link
        return json_response(body, headers=headers)

    def _link(self, pages: int) -> str:
        # WordPress rebuilds the links from every query parameter of the request, credentials included.
        url = public_url(self.request)
        base = f"{url.scheme}://{url.host}:{url.port}{url.path}"
        parts = []
        if self.page > 1:
            prev_page = min(self.page - 1, pages) if pages else 1
            parts.append(f'<{base}?{self._query(prev_page)}>; rel="prev"')
        if self.page < pages:
            parts.append(f'<{base}?{self._query(self.page + 1)}>; rel="next"')
        return ", ".join(parts)

    def _query(self, page: int) -> str:
        pairs = [(k, v) for k, v in self.request.query.items() if k != "page"]
        return urlencode([*pairs, ("page", str(page))])


def _int_param(request: web.Request, name: str, default: int, *, minimum: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(name) from None
    if value < minimum:
        raise ValueError(name)
    return value


def list_param(request: web.Request, name: str) -> list[str]:
    """``status=a,b`` and ``status[]=a&status[]=b`` both work, as in WordPress."""
    values = request.query.getall(name, []) + request.query.getall(f"{name}[]", [])
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def trim_fields(request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
    """WordPress' ``_fields``: only the named top-level fields."""
    fields = list_param(request, "_fields")
    if not fields:
        return body
    top = {f.split(".", 1)[0] for f in fields}
    return {k: v for k, v in body.items() if k in top}


def bool_param(request: web.Request, name: str) -> bool:
    return request.query.get(name, "false").lower() in ("1", "true", "yes")


_HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\n"
    "<body><h1>{reason}</h1><p>The server is temporarily unable to service your request. "
    "Please try again later.</p><hr><address>nginx</address></body></html>\n"
)


class HostFaults:
    """Injected faults the way WordPress hosts send them: 429/503 often as an HTML page."""

    def __init__(self, html_share: float = 0.5, seed: int | None = None) -> None:
        self.html_share = html_share
        self._rng = random.Random(seed)

    def __call__(self, status: int, faults: Faults) -> web.Response:
        headers = {"Retry-After": f"{faults.retry_after_s:g}"} if status in (429, 503) else {}
        if status in (429, 503) and self._rng.random() < self.html_share:
            reason = "Too Many Requests" if status == 429 else "Service Unavailable"
            return web.Response(
                text=_HTML_PAGE.format(status=status, reason=reason),
                status=status,
                content_type="text/html",
                headers=headers,
            )
        if status >= 500:
            response = wc_error(
                "internal_server_error", "<p>There has been a critical error on this website.</p>", status
            )
        else:
            response = wc_error("rest_too_many_requests", "Too many requests.", status)
        response.headers.update(headers)
        return response
