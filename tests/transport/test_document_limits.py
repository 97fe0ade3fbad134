"""The work done before execution is linear in the document (issue: a 924-byte anonymous
document of fragments that spread the next one twice stalled the process for ~24 s).

The limits (execution/document_limits.py) and the cost estimate (execution/cost.py) are checked
by the nodes they visit, never by time: for generated documents that spread fragments many
times over, the visits stay within a small multiple of the document's tokens, and the
limits agree with the plain expansion Strawberry's limiters computed."""

from __future__ import annotations

import pytest
from graphql import NoFragmentCyclesRule, parse, specified_rules, validate
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from support.document_shapes import expanded, fan_out, region_documents, tokens
from schema.build import build_schema
from execution.cost import walk
from execution.document_limits import document_limits, measure
from settings import Settings

LIMITS = Settings()
dev_schema = build_schema(LIMITS)
# Each selection is looked at once where it is written, and each spread (two tokens) twice more
# when its fragment's summary is built and added in: within one visit per token.
MEASURE_VISITS_PER_TOKEN = 1
# The cost walk looks at a fragment once per (type, count, tree depth) it is spread under; the
# region tree has 4 levels, so a fragment is costed a few times at most (1.4 visits per token
# was the most seen in 3,000 generated documents, each costed from 4 roots).
COST_VISITS_PER_TOKEN = 4

documents = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _rule():
    return document_limits(LIMITS.max_query_depth, LIMITS.max_query_aliases, LIMITS.max_query_fields)


def test_the_fan_out_is_measured_in_linear_time_and_refused():
    for levels in (22, 30, 60):
        text = fan_out(levels)
        found = measure(parse(text))
        (shape,) = found.operations.values()
        assert (shape.fields, shape.depth) == (2 ** (levels + 1), 1)  # `me { username }`, 2^levels times
        assert found.visits <= MEASURE_VISITS_PER_TOKEN * tokens(text)
        errors = validate(dev_schema._schema, parse(text), [_rule()])
        assert [e.message for e in errors if "fragments are written out" in e.message], errors
        assert errors[0].message.startswith("查询展开后过大 / 'anonymous' holds ")


def test_unknown_fragments_and_cycles_are_left_to_graphql_core():
    """`{ ...Unknown }` raised KeyError in the depth limiter, answered INTERNAL."""
    for text, expected in [
        ("{ ...Unknown }", "Unknown fragment 'Unknown'."),
        ("query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
         "Cannot spread fragment 'A' within itself via 'B'."),
    ]:
        errors = validate(dev_schema._schema, parse(text), [*specified_rules, _rule()])
        assert [e.message for e in errors] == [expected]


def test_a_long_chain_of_fragments_does_not_recurse():
    """375 fragments each spreading the next fit in the token limit; a recursive walk through
    them went past Python's recursion limit."""
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(375))
    text = f"query {{ ...F0 }} {chain} fragment F375 on Query {{ me {{ username }} }}"
    (shape,) = measure(parse(text)).operations.values()
    assert (shape.depth, shape.fields) == (1, 2)


@documents
@given(text=region_documents())
def test_limits_equal_the_plain_expansion_and_visit_each_node_about_once(text):
    document = parse(text)
    found = measure(document)
    assert found.visits <= MEASURE_VISITS_PER_TOKEN * tokens(text)
    cycles = validate(dev_schema._schema, document, [NoFragmentCyclesRule])  # refused anyway: no shape to agree on
    if not cycles and all(shape.fields <= 20_000 for shape in found.operations.values()):
        plain = expanded(document)
        for operation, shape in found.operations.items():
            assert (shape.depth, shape.aliases, shape.fields) == plain[operation.name.value]


@pytest.fixture(scope="module")
def region_trees(app):
    return app.state.trees  # the region and mineral trees of the seeded database


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=region_documents(), root=st.sampled_from([0, 1, 2, 3]))
def test_the_cost_estimate_visits_each_node_a_bounded_number_of_times(region_trees, text, root):
    document = parse(text)
    (shape,) = measure(document).operations.values()
    target(float(shape.fields))  # towards documents that spread fragments most often
    estimator = walk(dev_schema._schema, document, None, {}, region_trees, root, LIMITS.max_query_cost)
    assert estimator.visits <= COST_VISITS_PER_TOKEN * tokens(text)


def test_the_cost_of_a_fan_out_is_counted_as_written_out(region_trees):
    """Memoising a fragment must not make it cheap: every spread still counts its objects."""
    text = fan_out(10, leaf="region { code }")
    estimator = walk(dev_schema._schema, parse(text), None, {}, region_trees, 0, 10**9)
    assert estimator.total == 2 ** 10
    assert estimator.visits <= COST_VISITS_PER_TOKEN * tokens(text)
