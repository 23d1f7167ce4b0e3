"""What a request returns: status, headers and the raw body, decoded on demand."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from daemon.errors import RecordError, RetryableError
from daemon.http.redaction import body_snippet


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    # Sensitive query parameters are masked here so the URL is safe to log.
    url: str
    upstream: str | None = None

    def json(self) -> Any:
        """The body as JSON; ``None`` for an empty body.

        A body that is not JSON (a proxy's HTML error page, a truncated answer) becomes a typed error
        instead of a decode crash: retryable when the status says the host is struggling, a record
        error otherwise.
        """
        if not self.body.strip():
            return None
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            message = f"response is not JSON ({self.url}): {body_snippet(self.body)!r}"
            error_type = RetryableError if self.status == 429 or self.status >= 500 else RecordError
            raise error_type(message, upstream=self.upstream, status=self.status) from None
