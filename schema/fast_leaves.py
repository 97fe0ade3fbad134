"""Complete objects whose selected fields are all plain scalars in one step.

A national drill-down selects ~20,000 scalar fields (every node's total, large,
medium, ...). graphql-core runs each through the full field machinery — resolve
info, a Strawberry resolver wrapper, awaitable checks, leaf completion — which is
most of the request's time. When every field selected on an object is a plain
attribute (no resolver, arguments, permission or field extension) of a built-in
scalar type and holds a value, the answer is exactly `serialize(getattr(...))`
per field, so this builds it directly. Anything else takes the normal path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import GraphQLNonNull, GraphQLScalarType, specified_scalar_types
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

if TYPE_CHECKING:
    from collections.abc import Callable

    from graphql import GraphQLObjectType

_BUILT_IN_SCALARS = frozenset(specified_scalar_types)
# Per GraphQL object type: field name -> (Python attribute, serializer); built once.
_PLANS: dict[GraphQLObjectType, dict[str, tuple[str, Callable[[Any], Any]]]] = {}


def _plan(parent_type: GraphQLObjectType) -> dict[str, tuple[str, Callable[[Any], Any]]]:
    plan = _PLANS.get(parent_type)
    if plan is None:
        plan = {}
        for name, field_def in parent_type.fields.items():
            field = (field_def.extensions or {}).get("strawberry-definition")
            leaf = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
            if (
                field is not None and field.base_resolver is None and not field.extensions
                and not field.permission_classes and not field_def.args
                and isinstance(leaf, GraphQLScalarType) and leaf.name in _BUILT_IN_SCALARS
            ):
                plan[name] = (field.python_name, leaf.serialize)
        _PLANS[parent_type] = plan
    return plan


class FastLeavesExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        # Middleware (an extension's `resolve` hook) must see every field: then never.
        middleware = self.middleware_manager.middlewares if self.middleware_manager else ()
        plan = None if middleware or source_value is None else _plan(parent_type)
        if not plan:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        done, rest = _complete_plain(plan, parent_type.name, source_value, grouped_field_set)
        if not rest:
            return done
        results = super().execute_fields(parent_type, source_value, path, rest, position_context)
        if not done:
            return results
        if self.is_awaitable(results):
            async def merged() -> dict[str, Any]:
                return _in_order(grouped_field_set, done, await results)

            return merged()
        return _in_order(grouped_field_set, done, results)


def _complete_plain(plan, type_name: str, source: Any, grouped_field_set) -> tuple[dict[str, Any], dict]:
    """(answers of the plain fields, the fields left for the normal path). A null or
    a value that does not serialize is left too: the normal path reports it."""
    done: dict[str, Any] = {}
    rest: dict = {}
    for response_name, field_details_list in grouped_field_set.items():
        name = field_details_list[0].node.name.value
        if name == "__typename":
            done[response_name] = type_name
            continue
        leaf = plan.get(name)
        value = None if leaf is None else getattr(source, leaf[0], None)
        if value is not None:
            try:
                done[response_name] = leaf[1](value)
                continue
            except Exception:  # noqa: BLE001, S112 - reported by the normal path
                pass
        rest[response_name] = field_details_list
    return done, rest


def _in_order(grouped_field_set, done: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """Both parts merged in the order of the selection (a field that resolved to
    nothing, such as an unknown one, stays absent as graphql-core leaves it)."""
    merged: dict[str, Any] = {}
    for response_name in grouped_field_set:
        if response_name in done:
            merged[response_name] = done[response_name]
        elif response_name in results:
            merged[response_name] = results[response_name]
    return merged
