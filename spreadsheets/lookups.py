"""Finding a region or a mineral from what a spreadsheet says about it.

Regions: a county-level code (retired codes map to their successors, seed/data/
retired_regions.json) or a name path (云南省昆明市五华区, 昆明市五华区, 五华区). Inside the
importer's jurisdiction only: a region outside it is reported exactly like one that does not
exist. Minerals: a leaf's name or code, its name with 矿 dropped or added, or an alias.
The indexes are built once per Trees object and kept on it (the trees are static).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

from models.enums import RegionLevel
from seed.reference import DATA_DIR
from spreadsheets.cells import CellError, aliases, as_written, clean

_SEPARATORS = re.compile(r"[\s/\\|,，、·.\-—>＞_]+")
# Suffixes people leave out of a province or prefecture name (云南 for 云南省).
_SHORTENED = re.compile(r"(维吾尔自治区|壮族自治区|回族自治区|自治区|特别行政区|省|市|地区|盟)$")


@dataclass(frozen=True)
class Region:
    code: str
    warning: str | None = None  # set when a retired code was mapped to its successor


@lru_cache
def retired_regions() -> dict[str, dict]:
    with (DATA_DIR / "retired_regions.json").open(encoding="utf-8") as handle:
        return {entry["code"]: entry for entry in json.load(handle)["retired"]}


def _unknown_region(written: str) -> CellError:
    # One message for "no such region" and "not yours": existence never leaks.
    return CellError(f"在您的管辖范围内找不到行政区划“{written}” / no region {written!r} in your jurisdiction",
                     "NOT_FOUND")


class Lookups:
    """Indexes over one Trees object; `for_trees` returns the shared instance."""

    def __init__(self, trees) -> None:
        self.trees = trees
        self.counties_by_name: dict[str, list] = {}
        for node in trees.regions.values():
            if node.level is RegionLevel.COUNTY:
                self.counties_by_name.setdefault(node.name, []).append(node)
        self.minerals_by_name = _mineral_names(trees)

    @classmethod
    def for_trees(cls, trees) -> Lookups:
        found = trees.__dict__.get("_sheet_lookups")
        if found is None:
            found = trees.__dict__["_sheet_lookups"] = cls(trees)
        return found

    # ----------------------------------------------------------------------- regions

    def path(self, node) -> str:
        return "".join(n.name for n in reversed(self.trees.region_ancestors(node)[:-1]))

    def _listed(self, nodes) -> str:
        return "、".join(f"{self.path(n)}（{n.code}）" for n in nodes)

    def region_by_code(self, value: object, scope) -> Region:
        code = clean(value)
        if not re.fullmatch(r"\d{6}", code):
            raise CellError(f"行政区划代码应为 6 位数字（当前为“{as_written(value)}”） / a region code has 6 digits "
                            f"(got {as_written(value)!r})")
        node = self.trees.regions.get(code)
        if node is not None:
            if not scope.covers(node):
                raise _unknown_region(code)
            if node.level is not RegionLevel.COUNTY:
                raise CellError(f"行政区划“{code} {node.name}”不是县级行政区划，请填写矿山所在区县的代码 / {code} "
                                f"({node.name}) is not county-level: give the code of the mine's county")
            return Region(code)
        entry = retired_regions().get(code)
        if entry is None:
            raise _unknown_region(code)
        return self._successor(code, entry, scope)

    def _successor(self, written: str, entry: dict, scope) -> Region:
        nodes = [self.trees.regions[c] for c in entry["successors"] if c in self.trees.regions]
        inside = [n for n in nodes if scope.covers(n)]
        if not inside:
            raise _unknown_region(written)
        if len(nodes) == 1:
            node = nodes[0]
            return Region(node.code, f"行政区划“{written} {entry['name']}”已撤销，已按其现行区划“{self.path(node)}"
                                     f"（{node.code}）”导入 / region {written} ({entry['name']}) was retired: "
                                     f"read as its successor {node.code} ({node.name})")
        raise CellError(f"行政区划“{written} {entry['name']}”已撤销，其区域现属多个区县，请改填其一："
                        f"{self._listed(inside)} / region {written} ({entry['name']}) was retired and its "
                        f"area now lies in several counties: write one of "
                        + ", ".join(f"{n.code} ({n.name})" for n in inside))

    def region_by_path(self, value: object, scope) -> Region:
        written = as_written(value)
        text = _SEPARATORS.sub("", clean(value))
        candidates = [node for end in range(len(text)) for node in self.counties_by_name.get(text[end:], ())
                      if self._ancestors_match(text[:end], node)]
        inside = [node for node in candidates if scope.covers(node)]
        if len(inside) == 1:
            return Region(inside[0].code)
        if len(inside) > 1:
            raise CellError(f"所属行政区域“{written}”对应多个区县，请写出上级地名或改填行政区划代码：{self._listed(inside)} / "
                            f"{written!r} names several counties: add the province or city, or give the code: "
                            + ", ".join(f"{n.code} ({n.name})" for n in inside))
        # A retired county by name (山东省莱芜市莱城区): only when one retired entry fits.
        retired = [entry for entry in retired_regions().values()
                   if text.endswith(entry["name"]) and not entry["code"].endswith("00")
                   and _in_province(text[: -len(entry["name"])], entry["code"], self.trees)]
        if len(retired) == 1:
            return self._successor(written, retired[0], scope)
        raise _unknown_region(written)

    def _ancestors_match(self, prefix: str, county) -> bool:
        """Whether `prefix` is some of the county's ancestors' names, top down, each in full or
        shortened: "" / 云南省 / 昆明市 / 云南省昆明市 / 云南昆明 for 五华区."""
        if not prefix:
            return True
        names = [n.name for n in reversed(self.trees.region_ancestors(county)[1:-1])]
        return _consumes(prefix, names)

    # ----------------------------------------------------------------------- minerals

    def mineral(self, value: object) -> str:
        text = re.sub(r"\s+", "", clean(value))
        node = self.trees.minerals.get(text)
        if node is None:
            text = aliases()["minerals"].get(text, text)
            codes = self.minerals_by_name.get(text, ())
            node = self.trees.minerals[codes[0]] if len(codes) == 1 else None
        if node is None:
            group = next((n for n in self.trees.minerals.values() if n.name == text), None)
            if group is not None and group.level < 3:
                leaves = [m.name for m in _leaves(group)][:12]
                raise CellError(f"开采矿种“{text}”是矿种大类，请填写具体矿种，如：{'、'.join(leaves)} / {text!r} is a "
                                f"group of minerals: write one mineral, e.g. {', '.join(leaves)}")
            raise CellError(f"无法识别的开采矿种“{as_written(value)}”，请填写矿种名称或代码 / unknown mineral "
                            f"{as_written(value)!r}: write a mineral's name or code")
        if node.level != 3:
            leaves = [m.name for m in _leaves(node)][:12]
            raise CellError(f"开采矿种“{node.name}”（{node.code}）是矿种大类，请填写具体矿种，如：{'、'.join(leaves)} / "
                            f"{node.name} ({node.code}) is a group of minerals: write one mineral, e.g. "
                            + ", ".join(leaves))
        return node.code


def _in_province(prefix: str, code: str, trees) -> bool:
    province = trees.regions.get(code[:2] + "0000")
    return not prefix or (province is not None and prefix.startswith(_short(province.name)))


def _short(name: str) -> str:
    return _SHORTENED.sub("", name) or name


def _consumes(prefix: str, names: list[str]) -> bool:
    if not prefix:
        return True
    for index, name in enumerate(names):
        for form in {name, _short(name)}:
            if prefix.startswith(form) and _consumes(prefix[len(form):], names[index + 1:]):
                return True
    return False


def _leaves(node):
    if node.level == 3:
        return [node]
    return [leaf for child in node.children for leaf in _leaves(child)]


def _mineral_names(trees) -> dict[str, list[str]]:
    """Leaf names, and each with 矿 dropped or added where that spelling names no other leaf
    and only this one (铁矿 → 铁, 金 → 金矿)."""
    leaves = [n for n in trees.minerals.values() if n.level == 3]
    exact = {n.name: [n.code] for n in leaves}
    derived: dict[str, list[str]] = {}
    for node in leaves:
        variant = node.name[:-1] if node.name.endswith("矿") else node.name + "矿"
        if variant and variant not in exact:
            derived.setdefault(variant, []).append(node.code)
    return {**{k: v for k, v in derived.items() if len(v) == 1}, **exact}
