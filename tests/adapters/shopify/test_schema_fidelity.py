"""The sandbox SDLs are faithful subsets of Shopify's official 2026-01 schema and of the derived 2026-04 one."""

from __future__ import annotations

from typing import Any

import graphql
import pytest

from tests.adapters.shopify.real_schema import (
    SCHEMA_VERSIONS,
    generate_sdl,
    real_types,
    sandbox_sdl_path,
    type_ref,
)


def _sandbox_schema(version: str = "2026-01") -> graphql.GraphQLSchema:
    return graphql.build_schema(sandbox_sdl_path(version).read_text(encoding="utf-8"))


def _user_types(schema: graphql.GraphQLSchema) -> dict[str, graphql.GraphQLNamedType]:
    return {n: t for n, t in schema.type_map.items() if not n.startswith("__")}


def mismatches_with_real_schema(schema: graphql.GraphQLSchema, version: str = "2026-01") -> list[str]:
    real = real_types(version)
    mismatches: list[str] = []
    for name, gtype in _user_types(schema).items():
        if name not in real:
            mismatches.append(f"type {name} missing")
            continue
        r = real[name]
        if isinstance(gtype, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
            real_fields = {f["name"]: f for f in r["fields"] or []}
            for fname, field in gtype.fields.items():
                rf = real_fields.get(fname)
                if rf is None:
                    mismatches.append(f"{name}.{fname} missing")
                    continue
                if str(field.type) != type_ref(rf["type"]):
                    mismatches.append(f"{name}.{fname}: {field.type} != {type_ref(rf['type'])}")
                real_args = {a["name"]: a for a in rf["args"]}
                for aname, arg in field.args.items():
                    ra = real_args.get(aname)
                    if ra is None:
                        mismatches.append(f"{name}.{fname}({aname}) missing")
                    elif str(arg.type) != type_ref(ra["type"]):
                        mismatches.append(f"{name}.{fname}({aname}): {arg.type} != {type_ref(ra['type'])}")
                missing_required = [
                    a["name"]
                    for a in rf["args"]
                    if a["type"]["kind"] == "NON_NULL"
                    and a["defaultValue"] is None
                    and a["name"] not in field.args
                ]
                if missing_required:
                    mismatches.append(f"{name}.{fname}: required args dropped {missing_required}")
            real_ifaces = {i["name"] for i in r.get("interfaces") or []}
            for iface in getattr(gtype, "interfaces", ()):
                if iface.name not in real_ifaces:
                    mismatches.append(f"{name} does not implement {iface.name} in the real schema")
        elif isinstance(gtype, graphql.GraphQLInputObjectType):
            real_fields = {f["name"]: f for f in r["inputFields"]}
            for fname, ifield in gtype.fields.items():
                rf = real_fields.get(fname)
                if rf is None:
                    mismatches.append(f"input {name}.{fname} missing")
                elif str(ifield.type) != type_ref(rf["type"]):
                    mismatches.append(f"input {name}.{fname}: {ifield.type} != {type_ref(rf['type'])}")
            for rf in r["inputFields"]:
                required = rf["type"]["kind"] == "NON_NULL" and rf["defaultValue"] is None
                if required and rf["name"] not in gtype.fields:
                    mismatches.append(f"input {name}.{rf['name']} is required by Shopify but missing")
        elif isinstance(gtype, graphql.GraphQLEnumType):
            real_values = {v["name"] for v in r["enumValues"]}
            if set(gtype.values) != real_values:
                mismatches.append(f"enum {name} values differ: {sorted(set(gtype.values) ^ real_values)}")
        elif r["kind"] != "SCALAR":
            mismatches.append(f"{name} is a {r['kind']} in the real schema")
    return mismatches


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_every_sandbox_type_field_argument_and_input_field_exists_in_the_real_schema(version: str) -> None:
    assert mismatches_with_real_schema(_sandbox_schema(version), version) == []


def test_the_derived_2026_04_schema_lacks_the_removed_compare_fields() -> None:
    old, new = _sandbox_schema("2026-01"), _sandbox_schema("2026-04")
    for name, field in (
        ("InventoryQuantityInput", "compareQuantity"),
        ("InventorySetQuantitiesInput", "ignoreCompareQuantity"),
    ):
        old_input, new_input = old.type_map[name], new.type_map[name]
        assert isinstance(old_input, graphql.GraphQLInputObjectType)
        assert isinstance(new_input, graphql.GraphQLInputObjectType)
        assert field in old_input.fields and field not in new_input.fields
    assert "idempotent" in {d.name for d in new.directives}
    assert "changeFromQuantity" in old.type_map["InventoryQuantityInput"].fields  # type: ignore[union-attr]


def test_root_types_match() -> None:
    schema = _sandbox_schema()
    data: dict[str, Any] = real_types()
    assert schema.query_type is not None and schema.query_type.name in data
    assert schema.mutation_type is not None and schema.mutation_type.name == "Mutation"


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_checked_in_sdl_is_what_the_generator_produces(version: str) -> None:
    # Regenerating from the official 2026-01 file (python -m tests.adapters.shopify.real_schema) changes nothing.
    assert sandbox_sdl_path(version).read_text(encoding="utf-8") == generate_sdl(version)


def test_fidelity_check_catches_wrong_names_and_wrappings() -> None:
    broken = graphql.build_schema(
        "type QueryRoot { order(id: ID): Order orderz: Int }\n"
        "type Order { id: ID! name: Int tags: [String]! }\n"
        "input OrderInput { id: ID! bogus: String }"
    )
    found = mismatches_with_real_schema(broken)
    assert "QueryRoot.order(id): ID != ID!" in found
    assert "QueryRoot.orderz missing" in found
    assert "Order.name: Int != String!" in found
    assert "Order.tags: [String]! != [String!]!" in found
    assert "input OrderInput.bogus missing" in found
