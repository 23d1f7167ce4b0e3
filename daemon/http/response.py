"""What a request returns: status, headers and the raw body, decoded on demand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from daemon.errors import RecordError, RetryableError
from daemon.http.redaction import body_snippet, safe_url


class Response:
    """``url`` has sensitive query parameters masked, so it is safe to log. The client hands over the URL
    as sent (``mask_url=True``) and it is masked the first time it is read: most responses never are."""

    __slots__ = ("_raw_url", "_url", "body", "headers", "status", "upstream")

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        url: str,
        upstream: str | None = None,
        *,
        mask_url: bool = False,
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.upstream = upstream
        self._raw_url: str | None = url if mask_url else None
        self._url: str | None = None if mask_url else url

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = safe_url(self._raw_url or "")
            self._raw_url = None
        return self._url

    def __repr__(self) -> str:
        return f"Response(status={self.status}, url={self.url!r}, upstream={self.upstream!r})"

    def json(self) -> Any:
        """The body as JSON; ``None`` for an empty body.

        A body that is not JSON (a proxy's HTML error page, a truncated answer) becomes a typed error
        instead of a decode crash. It is retryable (the record stays pending, the cycle backs off) when it
        comes with a success, 403, 408, 425, 429 or 5xx status: hosts and WAFs answer challenge and
        maintenance pages as 200 or 403 HTML, and a cut-off body is a transport fault; parking every record
        of such a cycle would turn a host's bad minute into dead letters. Any other status is about this
        request: a record error.
        """
        if not self.body.strip():
            return None
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            message = f"response is not JSON ({self.url}): {body_snippet(self.body)!r}"
            error_type = RetryableError if _host_trouble(self.status) else RecordError
            raise error_type(message, upstream=self.upstream, status=self.status) from None


def _host_trouble(status: int) -> bool:
    return status < 300 or status in (403, 408, 425, 429) or status >= 500
