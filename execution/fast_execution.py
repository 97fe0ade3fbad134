"""Execute the bulk of a large answer without graphql-core's per-field machinery.

A national drill-down visits ~26,000 fields: ~3,200 regions, each with its code,
its `stats` (six counts) and its `children`. graphql-core runs every one through
the full field path — resolve info, argument coercion, Strawberry's resolver
wrapper and argument conversion, awaitable checks, value completion — which is
most of the request's time. Two kinds of field take a shorter path here:

- plain fields: an attribute (no resolver, arguments, permission or field
  extension) of a built-in scalar or an enum type; the answer is
  `serialize(getattr(...))`;
- fast fields: those whose Strawberry field opts in with `metadata=fast(fn)`
  (execution/field_functions.py), and objects held in a plain attribute.
  `fn(source, context, arguments)` is the very function the field's resolver
  calls, with the same arguments (coerced once per field node, scoped down the
  trees as the resolver's are). An object (of any class: the type only declares
  fields, its source is the domain object) or a list of non-null objects it
  returns at once is completed by this same method; anything else it returns
  (an awaitable, a null) goes to graphql-core's own completion, and an error it
  raises to graphql-core's own error handling. The function is called once.

Anything else (a null or a value that does not serialize in a plain field, an
invalid argument, @defer, middleware) takes the normal path, which then reports
it exactly as it always would. `settings.fast_execution` off builds the schema
without this class (schema/build.py); tests/api/test_fast_execution_differential.py
asserts both give the same bytes.
"""

from __future__ import annotations

from types import CoroutineType, GeneratorType
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
from graphql.execution.executor import to_nodes
from graphql.pyutils import Path, gather_with_cancel

from execution.field_functions import FAST
from execution.drill_down import STATISTICS, ScopingExecutionContext, scoped
from resolvers.statistics import ScopedNode

if TYPE_CHECKING:
    from collections.abc import Callable

_BUILT_IN_SCALARS = frozenset(specified_scalar_types)
_PLAIN, _OBJECT, _LIST = 0, 1, 2
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # GraphQL Int is 32-bit
# Per GraphQL object type: field name -> (kind, Python attribute | field function, serializer | field).
_PLANS: dict[GraphQLObjectType, dict[str, tuple]] = {}
# Per class of the values fast fields return: whether no value of it can be awaitable.
_NEVER_AWAITABLE: dict[type, bool] = {}


def _unwrap(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _planned(name: str, field_def: Any) -> tuple | None:
    field = (field_def.extensions or {}).get("strawberry-definition")
    if field is None or field.extensions or field.permission_classes:
        return None
    type_ = _unwrap(field_def.type)
    fn = (field.metadata or {}).get(FAST)
    if fn is None and field.base_resolver is None and not field_def.args \
            and isinstance(type_, (GraphQLObjectType, GraphQLList)):
        fn = _attribute(field.python_name)  # an object held by its parent
    if fn is not None:
        kind, object_type = _OBJECT, type_
        if isinstance(type_, GraphQLList) and isinstance(type_.of_type, GraphQLNonNull):
            kind, object_type = _LIST, type_.of_type.of_type
        if not _completes(object_type):
            return None
        # (kind, function, field, object type, whether its arguments flow down a tree)
        return (kind, fn, field_def, object_type, name in STATISTICS)
    if field.base_resolver is None and not field_def.args and (
            isinstance(type_, GraphQLEnumType)
            or isinstance(type_, GraphQLScalarType) and type_.name in _BUILT_IN_SCALARS):
        return (_PLAIN, field.python_name, _serializer(type_))
    return None


def _completes(type_: Any) -> bool:
    """Whether this method completes values of the type: a Strawberry object type that does not
    check its values' class (`is_type_of`, which Strawberry sets only on a type with interfaces).
    Its values are whatever its fields' functions return (resolvers/statistics.py's sources), of
    any class, as with graphql-core."""
    return (isinstance(type_, GraphQLObjectType) and type_.is_type_of is None
            and "strawberry-definition" in (type_.extensions or {}))


def _at_once(value: Any, is_awaitable: Callable[[Any], bool]) -> bool:
    """Whether a fast field's non-null value is its answer rather than an awaitable. graphql-core's
    check asks each value (a coroutine? an `__await__`? a failed attribute lookup on an object, the
    dearest step of a statistic's field: one per node of a drill-down); this asks once per class,
    when no value of the class can be awaitable."""
    cls = type(value)
    never = _NEVER_AWAITABLE.get(cls)
    if never is None:
        never = _NEVER_AWAITABLE[cls] = not (
            issubclass(cls, (CoroutineType, GeneratorType)) or hasattr(cls, "__await__")
            or hasattr(cls, "__getattr__") or cls.__getattribute__ is not object.__getattribute__)
    return never or not is_awaitable(value)


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


class FastExecutionContext(ScopingExecutionContext):
    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        if type(source_value) is ScopedNode:  # a tree node (execution/drill_down.py)
            scoping = source_value.scoping
            if scoping is None or scoping.below is None:  # not seen yet by a sibling with the same selection
                self.see_statistics(parent_type, source_value, grouped_field_set)
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
                        result = self._answer(entry, parent_type, source_value, path, response_name,
                                              field_details_list, position_context)
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

    def _answer(self, entry, parent_type, source, path, response_name, field_details_list,
                position_context) -> Any:
        """The completed answer of a fast field, or Undefined for the normal path (decided before
        the field's function is called: it is never called twice)."""
        kind, fn, field_def, object_type, statistic = entry
        arguments = self.coerced_arguments(field_def, field_details_list)
        if arguments is None:
            return Undefined  # invalid: graphql-core reports it
        grouped, defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if defer_usages:
            return Undefined
        return_type = field_def.type
        field_path = Path(path, response_name, parent_type.name)
        try:
            if statistic:  # as the resolver's (execution/field_functions.resolve)
                arguments = scoped(source, field_details_list[0].node.name.value, response_name, arguments)
            value = fn(source, self.context_value, arguments)
            if kind == _LIST:
                at_once = type(value) is list
            else:  # the common case inline: a class seen before (a tree node, counts)
                at_once = value is not None and (
                    _NEVER_AWAITABLE.get(type(value)) or _at_once(value, self.is_awaitable))
            if not at_once:  # an awaitable, a null: graphql-core's completion, as for the resolver
                info = self.build_resolve_info(field_def, to_nodes(field_details_list), parent_type, field_path)
                if self.is_awaitable(value):
                    return self.complete_awaitable_value(return_type, field_details_list, info, field_path, value,
                                                         position_context)
                completed = self.complete_value(return_type, field_details_list, info, field_path, value,
                                                position_context)
            elif kind == _OBJECT:
                completed = self.execute_fields(object_type, value, field_path, grouped, None)
            else:
                completed = [self.execute_fields(object_type, item, field_path.add_key(i, None), grouped, None)
                             for i, item in enumerate(value)]
                awaiting = [i for i, item in enumerate(completed) if self.is_awaitable(item)]
                if awaiting:
                    completed = self._list_later(completed, awaiting)
        except Exception as raw_error:  # noqa: BLE001 - as graphql-core's execute_field
            self.handle_field_error(raw_error, return_type, field_details_list, field_path)
            return None
        if self.is_awaitable(completed):
            return self._field_later(completed, return_type, field_details_list, field_path)
        return completed

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
