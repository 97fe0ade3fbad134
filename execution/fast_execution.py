"""Execute the bulk of a large answer without graphql-core's per-field machinery.

A national drill-down visits ~26,000 fields: ~3,200 regions, each with its code,
its `stats` (six counts) and its `children`. graphql-core runs every one through
the full field path — resolve info, argument coercion, Strawberry's resolver
wrapper and argument conversion, awaitable checks, value completion — which is
most of the request's time. Two kinds of field take a shorter path here:

- plain fields: an attribute (no resolver, arguments, permission or field
  extension) of a built-in scalar or an enum type; the answer is
  `serialize(getattr(...))`;
- direct fields: those whose Strawberry field carries `answered_directly(fn)`, and
  objects held in a plain attribute.
  `fn(source, context, arguments)` answers synchronously from data the request
  already holds (arguments coerced once per field node), or returns
  NotImplemented to leave the field to its resolver. An object or a list of
  non-null objects it returns is completed by this same method.

Anything else (a null, a value that does not serialize, an error, middleware)
takes the normal path, which then reports it exactly as it always would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    specified_scalar_types,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from execution.scoping import STATISTICS, Scoping

if TYPE_CHECKING:
    from collections.abc import Callable

DIRECT = "minegraph.direct"
_BUILT_IN_SCALARS = frozenset(specified_scalar_types)
_PLAIN, _OBJECT, _LIST = 0, 1, 2
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # GraphQL Int is 32-bit
# Per GraphQL object type: field name -> (kind, Python attribute | direct function, serializer | field).
_PLANS: dict[GraphQLObjectType, dict[str, tuple]] = {}


def answered_directly(fn: Callable[[Any, Any, dict[str, Any]], Any]) -> dict[str, Any]:
    """Strawberry field metadata: `fn` may answer the field without its resolver."""
    return {DIRECT: fn}


def _unwrap(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _planned(name: str, field_def: Any) -> tuple | None:
    field = (field_def.extensions or {}).get("strawberry-definition")
    if field is None or field.extensions or field.permission_classes:
        return None
    type_ = _unwrap(field_def.type)
    direct = (field.metadata or {}).get(DIRECT)
    if direct is None and field.base_resolver is None and not field_def.args \
            and isinstance(type_, (GraphQLObjectType, GraphQLList)):
        direct = _attribute(field.python_name)  # an object held by its parent
    if direct is not None:
        if isinstance(type_, GraphQLObjectType) and type_.is_type_of is None:
            return (_OBJECT, direct, field_def)
        item = type_.of_type if isinstance(type_, GraphQLList) else None
        if isinstance(item, GraphQLNonNull) and isinstance(item.of_type, GraphQLObjectType) \
                and item.of_type.is_type_of is None:
            return (_LIST, direct, field_def)
        return None
    if field.base_resolver is None and not field_def.args and (
            isinstance(type_, GraphQLEnumType)
            or isinstance(type_, GraphQLScalarType) and type_.name in _BUILT_IN_SCALARS):
        return (_PLAIN, field.python_name, _serializer(type_))
    return None


def _serializer(type_: GraphQLScalarType) -> Callable[[Any], Any]:
    """The scalar's serializer, with a shortcut for the values it returns unchanged;
    None raises (a null goes to the normal path, which checks nullability)."""
    serialize = type_.serialize
    exact = {"Int": int, "String": str, "Boolean": bool}.get(type_.name)

    def serialized(value: Any) -> Any:
        if value is None:
            raise TypeError("null")
        if type(value) is exact and (exact is not int or _INT_MIN <= value <= _INT_MAX):
            return value
        return serialize(value)

    return serialized


def _attribute(python_name: str) -> Callable[[Any, Any, dict[str, Any]], Any]:
    return lambda source, _context, _arguments: getattr(source, python_name, None)


def _plan(parent_type: GraphQLObjectType) -> dict[str, tuple]:
    plan = _PLANS.get(parent_type)
    if plan is None:
        plan = {name: entry for name, field_def in parent_type.fields.items()
                if (entry := _planned(name, field_def)) is not None}
        _PLANS[parent_type] = plan
    return plan


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._arguments: dict[int, tuple[Any, dict[str, Any] | None]] = {}

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        scoping = getattr(source_value, "scoping", None)
        if isinstance(scoping, Scoping) and scoping.below is None:
            # Before any field of the node resolves: its `children` hand these down (execution/scoping.py).
            scoping.see(self._statistics(parent_type, grouped_field_set))
        # Middleware (an extension's `resolve` hook) must see every field: then never.
        middleware = self.middleware_manager.middlewares if self.middleware_manager else ()
        plan = None if middleware or source_value is None else _plan(parent_type)
        if not plan:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        # graphql-core's loop, in the same order (the first error of a non-null chain wins).
        results: dict[str, Any] = {}
        pending: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                name = field_details_list[0].node.name.value
                if name == "__typename":
                    results[response_name] = parent_type.name
                    continue
                entry = plan.get(name)
                result = Undefined
                if entry is not None:
                    if entry[0] is _PLAIN:  # inline: most fields of a large answer are these
                        try:
                            results[response_name] = entry[2](getattr(source_value, entry[1], None))
                            continue
                        except Exception:  # noqa: BLE001, S110 - a null or bad value: the normal path reports it
                            pass
                    else:
                        result = self._answer(entry, parent_type, source_value, path, response_name, field_details_list)
                if result is Undefined:
                    field_path = Path(path, response_name, parent_type.name)
                    result = self.execute_field(parent_type, source_value, field_details_list, field_path,
                                                position_context)
                    if result is Undefined:
                        continue
                results[response_name] = result
                if self.is_awaitable(result):
                    pending.append(response_name)
        except Exception:
            if pending:  # as graphql-core does: settle what other fields started, they may fail too
                self.settle_in_background([results[n] for n in pending])
            raise
        if not pending:
            return results

        async def gathered() -> dict[str, Any]:
            for response_name, value in zip(pending, await gather_with_cancel(*(results[n] for n in pending)),
                                            strict=True):
                results[response_name] = value
            return results

        return gathered()

    def _statistics(self, parent_type, grouped_field_set) -> list[tuple[str, dict[str, Any]]]:
        """(response key, arguments as given) of the statistics a tree node selects."""
        found = []
        for response_name, field_details_list in grouped_field_set.items():
            name = field_details_list[0].node.name.value
            if name in STATISTICS and name in parent_type.fields:
                arguments = self._coerced_arguments(parent_type.fields[name], field_details_list)
                if arguments is not None:  # invalid: the field reports it
                    found.append((response_name, arguments))
        return found

    def _answer(self, entry, parent_type, source, path, response_name, field_details_list) -> Any:
        """The completed answer of a direct field, or Undefined for the normal path."""
        kind, how, field_def = entry
        arguments = self._coerced_arguments(field_def, field_details_list)
        if arguments is None:
            return Undefined
        scoping = getattr(source, "scoping", None)
        if isinstance(scoping, Scoping) and field_details_list[0].node.name.value in STATISTICS:
            arguments = scoping.arguments(response_name, arguments)  # with what the nodes above gave
        try:
            value = how(source, self.context_value, arguments)
        except Exception:  # noqa: BLE001 - the resolver runs and reports it
            return Undefined
        if value is NotImplemented or value is None:
            return Undefined
        object_type = _unwrap(field_def.type)
        if kind == _LIST:
            object_type = object_type.of_type.of_type
        grouped, defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if defer_usages:
            return Undefined
        field_path = Path(path, response_name, parent_type.name)
        try:
            if kind == _OBJECT:
                completed = self.execute_fields(object_type, value, field_path, grouped, None)
            else:
                completed = [self.execute_fields(object_type, item, field_path.add_key(i, None), grouped, None)
                             for i, item in enumerate(value)]
                awaiting = [i for i, item in enumerate(completed) if self.is_awaitable(item)]
                if awaiting:
                    completed = self._list_later(completed, awaiting)
        except Exception as raw_error:  # noqa: BLE001 - as graphql-core's execute_field
            self.handle_field_error(raw_error, field_def.type, field_details_list, field_path)
            return None
        if self.is_awaitable(completed):
            return self._field_later(completed, field_def.type, field_details_list, field_path)
        return completed

    def _coerced_arguments(self, field_def, field_details_list) -> dict[str, Any] | None:
        """A field node's arguments, coerced once per request (None: invalid)."""
        cached = self._arguments.get(id(field_details_list))
        if cached is None:
            first = field_details_list[0]
            try:
                arguments = get_argument_values(field_def, first.node, self.variable_values,
                                                first.fragment_variable_values, self.hide_suggestions)
            except Exception:  # noqa: BLE001 - reported by the normal path
                arguments = None
            # The list is kept with its entry, so its id cannot be reused during the request.
            cached = self._arguments[id(field_details_list)] = (field_details_list, arguments)
        return cached[1]

    async def _list_later(self, completed: list[Any], awaiting: list[int]) -> list[Any]:
        for i, value in zip(awaiting, await gather_with_cancel(*(completed[i] for i in awaiting)), strict=True):
            completed[i] = value
        return completed

    async def _field_later(self, completed, return_type, field_details_list, path) -> Any:
        try:
            return await completed
        except Exception as raw_error:  # noqa: BLE001 - as graphql-core's execute_field
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

