"""The query documents of the jurisdiction property: the selection sets its root fields ask for, and
a document under construction whose arguments are typed variables or literals written in."""

from __future__ import annotations

import json

from support.jurisdiction_strategies import ENUMS

STATS = "total large medium small over30Workers over800mDepth byCategory { mineral { code } count }"
COMPLETENESS = ("total withLocation cityLevelApplicable withProvinceGuarantor withCityGuarantor "
                "withCountyGuarantor withEnterpriseGuarantor withAllGuarantors complete")
MINE_BASIC = "id code name region { code parent { code } } mineral { code } version"
MINE_DETAIL = (MINE_BASIC + " scale designCapacity capacityUnit developmentMethod maxDepth workersPerShift"
               " productionStatus supervisoryBody updatedAt location { wgs84 { lat lng } sourceDatum }"
               " guarantors { level }")
CONNECTION = "totalCount edges {{ cursor node {{ {node} }} }} pageInfo {{ hasNextPage endCursor }}"

FILTER_FIELD_TYPES = {
    "regionCode": "String", "nameContains": "String", "mineralCodes": "[String]",
    **{key: "[enum]" for key in ENUMS}, "missingGuarantorLevel": "enum",
    "designCapacityMin": "Float", "designCapacityMax": "Float", "depthMin": "Float", "depthMax": "Float",
    "workersPerShiftMin": "Int", "workersPerShiftMax": "Int",
    "over30Workers": "Boolean", "over800mDepth": "Boolean", "missingLocation": "Boolean",
}
ENUM_TYPES = {"Datum", "GuarantorLevel", "enum"}


def literal(graphql_type: str, value) -> str:
    """A value written into the document, as GraphiQL users and hand-written clients do."""
    if value is None:
        return "null"
    if graphql_type == "MineFilter":
        return "{" + ", ".join(f"{k}: {literal(FILTER_FIELD_TYPES[k], v)}" for k, v in value.items()) + "}"
    if graphql_type.startswith("["):
        return "[" + ", ".join(literal(graphql_type[1:-1], v) for v in value) + "]"
    if graphql_type in ENUM_TYPES:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)  # JSON's string escapes are GraphQL's


class Doc:
    """A query document under construction: root fields with aliases, and their arguments as typed
    variables or, for a document drawn with `literals`, written into the document itself."""

    def __init__(self, literals: bool = False) -> None:
        self.literals = literals
        self.declared: list[str] = []
        self.variables: dict = {}

    def var(self, graphql_type: str, value) -> str:
        if self.literals:
            return literal(graphql_type.rstrip("!"), value)
        name = f"v{len(self.declared)}"
        self.declared.append(f"${name}: {graphql_type}")
        self.variables[name] = value
        return "$" + name

    def text(self, roots: list[str]) -> str:
        head = f"query Property({', '.join(self.declared)})" if self.declared else "query Property"
        return head + " {\n  " + "\n  ".join(roots) + "\n}"
