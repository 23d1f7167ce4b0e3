"""Every vendor request a sandbox saw, with bodies, so tests can assert on traffic and validate it."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class LoggedExchange:
    seq: int
    method: str
    path: str
    query: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    injected: bool  # answered by fault injection, not by the vendor logic
    at: float = 0.0  # when the request arrived (epoch seconds): benchmarks time spans across processes

    @property
    def is_write(self) -> bool:
        return self.method in {"POST", "PUT", "PATCH", "DELETE"}

    def request_json(self) -> Any:
        return orjson.loads(self.request_body) if self.request_body else None

    def response_json(self) -> Any:
        return orjson.loads(self.response_body) if self.response_body else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "injected": self.injected,
            "at": self.at,
            "request_body": self.request_body.decode("utf-8", "replace"),
            "response_body": self.response_body.decode("utf-8", "replace")[:4000],
        }


class RequestLog:
    def __init__(self, maxlen: int = 200_000) -> None:
        self._entries: deque[LoggedExchange] = deque(maxlen=maxlen)
        self._seq = 0

    def add(self, **fields: Any) -> None:
        self._seq += 1
        self._entries.append(LoggedExchange(seq=self._seq, **fields))

    def entries(self, since: int = 0) -> list[LoggedExchange]:
        return [e for e in self._entries if e.seq > since]

    @property
    def last_seq(self) -> int:
        return self._seq

    def clear(self) -> None:
        self._entries.clear()
