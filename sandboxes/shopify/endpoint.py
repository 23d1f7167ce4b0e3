"""``POST /admin/api/{version}/graphql.json``: auth, parse, validate, cost, bucket, execute — Shopify's order."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson
from aiohttp import web
from graphql import (
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLFormattedError,
    GraphQLSchema,
    OperationDefinitionNode,
    execute,
    parse,
    validate,
)

from sandboxes.kit.kit import json_response
from sandboxes.kit.tenants import mount
from sandboxes.shopify.cost import CostContext, LeakyBucket
from sandboxes.shopify.mutations import MutationRoot
from sandboxes.shopify.queries import QueryRoot
from sandboxes.shopify.versions import SUPPORTED_VERSIONS, answering_version, schema_for
from sandboxes.shopify.world import World

MAX_QUERY_COST = 1000
INVALID_TOKEN_BODY = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
RATE_LIMIT_DOCS = "https://shopify.dev/api/usage/rate-limits"


def load_schema(version: str = SUPPORTED_VERSIONS[-1]) -> GraphQLSchema:
    """The schema a version executes against (2026-01, or the derived 2026-04 one for later versions)."""
    return schema_for(version)


@lru_cache(maxsize=1024)
def checked_document(version: str, text: str) -> DocumentNode | tuple[GraphQLFormattedError, ...]:
    """The parsed document, or why it is refused (syntax, validation against the version's schema).

    Cached by text: a client sends the same few queries again and again, and parsing and validating one
    against the Admin schema costs 15-40 ms — in a sandbox serving a thousand shops that was most of its CPU.
    Execution never changes a document, so one parse serves every request.
    """
    try:
        document = parse(text)
    except GraphQLError as exc:
        return (exc.formatted,)
    problems = validate(load_schema(version), document)
    if problems:
        return tuple(p.formatted for p in problems)
    return document


class GraphQLEndpoint:
    def __init__(
        self,
        world: World,
        bucket: LeakyBucket,
        *,
        token: str,
        max_query_cost: int = MAX_QUERY_COST,
        supported_versions: tuple[str, ...] = SUPPORTED_VERSIONS,
        access_scopes: tuple[str, ...] | None = None,
    ) -> None:
        self.world = world
        self.bucket = bucket
        self.token = token
        self.max_query_cost = max_query_cost
        self.supported_versions = supported_versions
        self.access_scopes = access_scopes
        self.query_root = QueryRoot(world)
        self.mutation_root = MutationRoot(world)

    async def handle(self, request: web.Request) -> web.Response:
        version = answering_version(request.match_info["version"], self.supported_versions)
        headers = {"X-Shopify-API-Version": version}
        if request.headers.get("X-Shopify-Access-Token") != self.token:
            return json_response(INVALID_TOKEN_BODY, status=401, headers=headers)
        try:
            body = orjson.loads(await request.read())
            text = body["query"]
            if not isinstance(text, str):
                raise TypeError("query must be a string")
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return json_response({"errors": {"query": "Required parameter missing or invalid"}}, 400, headers)
        variables = body.get("variables") or {}
        # A shop of a multi-shop sandbox hands out links under its own prefix (bulk results).
        origin = str(request.url.origin()) + mount(request)
        answer = self.run(text, variables, body.get("operationName"), version=version, origin=origin)
        return json_response(answer, headers=headers)

    def run(
        self,
        text: str,
        variables: dict[str, Any],
        operation_name: str | None = None,
        *,
        version: str = SUPPORTED_VERSIONS[-1],
        origin: str | None = None,
    ) -> dict[str, Any]:
        schema = load_schema(version)
        document = checked_document(version, text)
        if not isinstance(document, DocumentNode):
            return {"errors": list(document)}
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        chosen = [
            o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)
        ]
        if len(chosen) != 1:
            return {
                "errors": [{"message": "An operation name is required when sending multiple operations."}]
            }
        op = chosen[0]
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        costs = CostContext(schema, fragments, variables)
        try:
            requested = costs.operation_cost(op)
        except GraphQLError as exc:
            return {"errors": [exc.formatted]}
        if requested > self.max_query_cost:
            return {
                "errors": [
                    {
                        "message": f"Query cost is {requested}, which exceeds the single query max cost limit "
                        f"({self.max_query_cost}).",
                        "extensions": {
                            "code": "MAX_COST_EXCEEDED",
                            "cost": requested,
                            "maxCost": self.max_query_cost,
                        },
                    }
                ],
                "extensions": self._cost(requested, None),
            }
        if not self.bucket.try_reserve(requested):
            return {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {"code": "THROTTLED", "documentation": RATE_LIMIT_DOCS},
                    }
                ],
                "extensions": self._cost(requested, None),
            }
        # origin: where this sandbox is reached, for the links it hands out (bulk operation results)
        context: dict[str, Any] = {"version": version, "access_scopes": self.access_scopes, "origin": origin}
        is_mutation = op.operation.value == "mutation"
        result = execute(
            schema,
            document,
            root_value=self.mutation_root if is_mutation else self.query_root,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
        )
        assert isinstance(result, ExecutionResult)
        actual = requested if is_mutation else costs.operation_cost(op, result.data or {})
        self.bucket.settle(requested, actual)
        answer: dict[str, Any] = {}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        answer["data"] = result.data
        answer["extensions"] = self._cost(requested, actual)
        if context.get("search"):
            answer["extensions"]["search"] = context["search"]
        return answer

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": self.bucket.status(),
            }
        }
