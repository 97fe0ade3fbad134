"""Regions and minerals as spreadsheets name them (spreadsheets.lookups), inside the importer's
jurisdiction: codes, name paths, duplicate county names, retired codes."""

from __future__ import annotations

import pytest

from models.enums import RegionLevel
from support.sheet_fixtures import BEIJING, JIANGSU, KUNMING, NATION, SHANDONG, YUNNAN, trees
from spreadsheets.cells import CellError
from spreadsheets.lookups import Lookups, retired_regions


@pytest.fixture(scope="module")
def lookups():
    return Lookups.for_trees(trees())


@pytest.mark.parametrize("cell", ["530102", 530102, 530102.0, "５３０１０２", " 530102 "])
def test_region_by_code(lookups, cell):
    region = lookups.region_by_code(cell, YUNNAN)
    assert region.code == "530102" and region.warning is None


@pytest.mark.parametrize("cell", ["云南省昆明市五华区", "云南省 昆明市 五华区", "云南省/昆明市/五华区", "昆明市五华区",
                                  "云南昆明五华区", "五华区", "云南省-昆明市-五华区", "云南省五华区"])
def test_region_by_path(lookups, cell):
    assert lookups.region_by_path(cell, YUNNAN).code == "530102"


def test_duplicate_county_name_is_ambiguous_naming_candidates_with_codes(lookups):
    with pytest.raises(CellError) as caught:
        lookups.region_by_path("朝阳区", NATION)
    message = caught.value.message
    assert "110105" in message and "220104" in message and "北京市朝阳区" in message
    assert caught.value.code == "BAD_USER_INPUT"
    # Unique inside a jurisdiction that holds only one of them; a path settles it anywhere.
    assert lookups.region_by_path("朝阳区", BEIJING).code == "110105"
    assert lookups.region_by_path("吉林省长春市朝阳区", NATION).code == "220104"


def test_ambiguous_lists_only_the_candidates_inside_the_jurisdiction(lookups):
    duplicates = [name for name, nodes in lookups.counties_by_name.items()
                  if len([n for n in nodes if n.province_code == "320000"]) >= 2]
    assert duplicates, "Jiangsu has no county name twice"  # 鼓楼区 (南京, 徐州) at the time of writing
    name = duplicates[0]
    with pytest.raises(CellError) as caught:
        lookups.region_by_path(name, JIANGSU)
    outside = [n.code for n in lookups.counties_by_name[name] if n.province_code != "320000"]
    assert outside and not any(code in caught.value.message for code in outside)


@pytest.mark.parametrize("cell,how", [("110105", "code"), ("999999", "code"), ("北京市朝阳区", "path"),
                                      ("火星市五华区", "path")])
def test_outside_the_jurisdiction_reads_like_unknown(lookups, cell, how):
    find = lookups.region_by_code if how == "code" else lookups.region_by_path
    with pytest.raises(CellError) as caught:
        find(cell, KUNMING)
    assert caught.value.code == "NOT_FOUND"
    assert caught.value.message == (f"在您的管辖范围内找不到行政区划“{cell}” / no region {cell!r} in your "
                                    "jurisdiction")


def test_city_code_is_not_county_level(lookups):
    with pytest.raises(CellError) as caught:
        lookups.region_by_code("530100", YUNNAN)
    assert "县级" in caught.value.message


def test_laiwu_counties_map_to_jinan_with_a_warning(lookups):
    for old, new in (("371202", "370116"), ("371203", "370117")):
        region = lookups.region_by_code(old, SHANDONG)
        assert region.code == new
        assert old in region.warning and new in region.warning and " / " in region.warning
    assert lookups.region_by_path("山东省莱芜市莱城区", SHANDONG).code == "370116"


def test_laiwu_city_names_its_successors(lookups):
    with pytest.raises(CellError) as caught:
        lookups.region_by_code("371200", SHANDONG)
    assert "370116" in caught.value.message and "370117" in caught.value.message


def test_retired_code_outside_the_jurisdiction_reads_like_unknown(lookups):
    with pytest.raises(CellError) as caught:
        lookups.region_by_code("371202", YUNNAN)
    assert caught.value.code == "NOT_FOUND"


def test_retired_table_is_sound():
    regions = trees().regions
    for code, entry in retired_regions().items():
        assert code not in regions, f"{code} is retired but still in the tree"
        assert entry["successors"] and entry["source"]
        for successor in entry["successors"]:
            assert regions[successor].level is RegionLevel.COUNTY, (code, successor)


@pytest.mark.parametrize("cell,code", [("金", "100401"), ("金矿", "100401"), ("100401", "100401"), ("铁", "200101"),
                                       ("铁矿", "200101"), ("岩金", "100401"), ("铅锌矿", "100104"), ("磷矿", "300101"),
                                       (" 锰 ", "200201"), ("ｃｕ", None)])
def test_minerals(lookups, cell, code):
    if code is None:
        with pytest.raises(CellError):
            lookups.mineral(cell)
    else:
        assert lookups.mineral(cell) == code


@pytest.mark.parametrize("cell", ["贵金属", "有色金属", "1004", "10", "钒钛"])
def test_mineral_groups_are_refused_naming_leaves(lookups, cell):
    with pytest.raises(CellError) as caught:
        lookups.mineral(cell)
    assert "矿种大类" in caught.value.message


def test_short_names_are_unique():
    names = Lookups.for_trees(trees()).minerals_by_name
    assert all(len(codes) == 1 for codes in names.values())
