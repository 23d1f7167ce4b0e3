"""The Admin API calls the connector makes, on top of the shared HTTP core."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.shopware.queries import Criteria
from adapters.shopware.version import ShopwareVersion
from daemon.http import HttpClient

JSON_API_OFF = {"Accept": "application/json"}
# Ask for the written entity back: without ``_response`` a shop answers 204, which the spec's
# PATCH/POST operations do not declare.
DETAIL = {"_response": "basic"}


class ShopwareApi:
    def __init__(self, http: HttpClient) -> None:
        self.http = http
        self._version: ShopwareVersion | None = None

    async def version(self) -> ShopwareVersion:
        if self._version is None:
            answer = await self.http.get_json("_info/version")
            self._version = ShopwareVersion.parse(str((answer or {}).get("version", "")))
        return self._version

    async def search(self, entity: str, criteria: Criteria, *, inherit: bool = False) -> list[dict[str, Any]]:
        headers = {"sw-inheritance": "1"} if inherit else None
        # A search changes nothing, so a failed one may be repeated.
        response = await self.http.request(
            "POST", f"search/{entity}", json=criteria, headers=headers, idempotent=True
        )
        data = (response.json() or {}).get("data")
        return [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []

    async def patch(self, entity: str, entity_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        # The body carries absolute values (the merged code list, a stock level): repeating is safe.
        response = await self.http.request(
            "PATCH", f"{entity}/{entity_id}", params=DETAIL, json=body, idempotent=True
        )
        data = (response.json() or {}).get("data")
        return data if isinstance(data, dict) else {}

    async def create(self, entity: str, body: Mapping[str, Any]) -> dict[str, Any]:
        # Carries its own id, so a repeated create collides instead of duplicating.
        response = await self.http.request("POST", entity, params=DETAIL, json=body, idempotent=True)
        data = (response.json() or {}).get("data")
        return data if isinstance(data, dict) else {}

    async def transition(
        self, entity: str, entity_id: str, action: str, body: Mapping[str, Any] | None = None
    ) -> None:
        # Not retried blindly: a repeat after an unseen success is an illegal transition, which the
        # callers resolve by reading the state back.
        await self.http.request(
            "POST", f"_action/{entity}/{entity_id}/state/{action}", json=body, idempotent=False
        )

    async def sync(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        response = await self.http.request(
            "POST",
            "_action/sync",
            json=operations,
            headers={"indexing-behavior": "use-queue-indexing"},
            idempotent=True,  # upserts of absolute values
        )
        answer = response.json()
        return answer if isinstance(answer, dict) else {}
