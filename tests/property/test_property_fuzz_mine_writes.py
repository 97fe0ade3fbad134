"""Bad input to the mine writes, updateMineLocation, setGuarantor and updateMine, fuzzed with hostile values.

Hostile mine ids, coordinates, datums, levels, guarantors and expected versions, sent by the
mine's own enterprise account and by its county's clerk (each the editor of one thing only).
After every refused write the mine (version, location, guarantors), its change records in
audit_log (`mine.*`; the refusal's own `access.refused` record is the audit working, not a
change) and the data version are exactly as before; after an accepted one, the version rose by
one, one change record was added and the stored values are the ones answered.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.fuzz_requests import FIGURES, count, graphql_body, send
from support.fuzz_stage import FUZZ, Actor, Stage
from support.fuzz_state import mine_state
from support.fuzz_values import (
    INSIDE_CHINA, coordinates, hostile_enum, hostile_float, hostile_int, hostile_text, nasty_unicode,
)
from support.fuzz_verdict import Verdict

pytestmark = pytest.mark.property


def _target(stage: Stage, raw, editor: Actor) -> tuple[int, bool]:
    """(the mine whose state to compare, whether the editor may write it at all). An Int is a
    valid ID, read as its digits. Leading zeros ("05") are left open: the contract neither
    requires nor forbids reading them as 5."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if isinstance(raw, str) and re.fullmatch(r"[0-9]{1,18}", raw):
        mine_id = int(raw)
        if editor is stage.owner:
            return (mine_id if mine_id <= 10**6 else stage.mine_id), mine_id == stage.mine_id
        return (mine_id if mine_id <= 10**6 else stage.mine_id), mine_id in stage.county_mines
    return stage.mine_id, False


def _expected_version(data, stage: Stage, target: int, hostile: bool) -> tuple[object, bool]:
    """(expectedVersion to send, certainly wrong): none or the target's current version, and
    with `hostile` any hostile Int too."""
    current = mine_state(stage.env.db, target)[0]
    version = data.draw(st.one_of(st.none(), st.just(current[0] if current else 1))
                        if not hostile else
                        st.one_of(st.none(), st.just(current[0] if current else 1), hostile_int().map(lambda v: v[0])),
                        label="expectedVersion")
    wrong = version is not None and not (isinstance(version, int) and not isinstance(version, bool)
                                         and current is not None and version == current[0])
    return version, wrong


def mine_ids(stage: Stage) -> st.SearchStrategy:
    return st.one_of(
        st.just(str(stage.mine_id)), st.just(str(stage.mine_id)), st.just(str(stage.mine_id)),
        st.sampled_from(sorted(stage.county_mines)).map(str),
        st.sampled_from([f" {stage.mine_id}", f"{stage.mine_id} ", f"0{stage.mine_id}", f"{stage.mine_id}\x00",
                         f"{stage.mine_id}.0", "-1", "0", "1e3", "9" * 40, "", "\ud800"]),
        hostile_text(max_size=20),
        st.sampled_from([stage.mine_id, 2**80, 1.5, True, None, []]),  # an Int is a valid ID; the rest are not
    )


async def _write(stage: Stage, what: str, body: bytes, editor: Actor, target: int, certainly_bad: bool,
                 check_written) -> None:
    db = stage.env.db
    before = mine_state(db, target)
    answer = await send(stage.client, body, token=editor.token)
    verdict = Verdict(what, answer, body)
    if verdict.clear(must_refuse=certainly_bad):
        verdict.unchanged(f"mine {target} (row, guarantors, audit, data version)", before, mine_state(db, target))
    else:
        FIGURES[f"accepted {what}"] += 1
        after = mine_state(db, target)
        if after[0][0] != before[0][0] + 1:
            verdict.fail(f"version went {before[0][0]} -> {after[0][0]} for one accepted write")
        if after[2] != (before[2][0] + 1,):
            verdict.fail(f"audit records of the mine went {before[2]} -> {after[2]} for one accepted write")
        check_written(verdict, answer, after)
    verdict.done()


@FUZZ
@given(data=st.data())
async def test_update_mine_location_with_hostile_values(stage, data):
    # One case in three is a valid write (so that accepted writes are checked too) with at most one
    # hostile value in it; the others are hostile throughout.
    clean = data.draw(st.integers(0, 2), label="clean") == 0
    spoil = data.draw(st.sampled_from(["none", "id", "point", "datum", "version"])) if clean else None
    editor = stage.owner if clean else data.draw(st.sampled_from([stage.owner, stage.owner, stage.owner,
                                                                   stage.clerk]), label="editor")
    raw_id = str(stage.mine_id) if spoil not in (None, "id") else data.draw(mine_ids(stage), label="mineId")
    (lat, bad_lat), (lng, bad_lng) = (data.draw(INSIDE_CHINA)
                                      if spoil not in (None, "point") else data.draw(coordinates(), label="lat, lng"))
    datum, bad_datum = (data.draw(st.sampled_from(["WGS84", "GCJ02"])), False) if spoil not in (None, "datum") \
        else data.draw(hostile_enum(["WGS84", "GCJ02"]), label="datum")
    target, allowed = _target(stage, raw_id, editor)
    version, bad_version = _expected_version(data, stage, target, hostile=spoil in (None, "version"))
    bad_id = not allowed  # _target allows only a digit string or an Int naming a writable mine
    certainly_bad = bad_lat or bad_lng or bad_datum or bad_version or bad_id or editor is not stage.owner
    variables = {"id": raw_id, "lat": lat, "lng": lng, "d": datum, "v": version}
    body = graphql_body("mutation M($id: ID!, $lat: Float!, $lng: Float!, $d: Datum!, $v: Int) { updateMineLocation("
                        "mineId: $id, lat: $lat, lng: $lng, datum: $d, expectedVersion: $v) { id version location "
                        "{ wgs84 { lat lng } sourceDatum } } }", variables)
    count("updateMineLocation")

    def written(verdict, answer, after):
        mine = answer.data["updateMineLocation"]
        row = after[0]
        if (mine["version"], mine["location"]["wgs84"]["lat"], mine["location"]["wgs84"]["lng"]) != row[:3]:
            verdict.fail(f"answered {mine!r}, stored {row!r}")
        if mine["location"]["sourceDatum"] != datum or row[3] != datum:
            verdict.fail(f"datum {datum!r}: answered {mine['location']['sourceDatum']!r}, stored {row[3]!r}")

    await _write(stage, "updateMineLocation", body, editor, target, certainly_bad, written)


@FUZZ
@given(data=st.data())
async def test_set_guarantor_with_hostile_values(stage, data):
    # One case in three is a valid write with at most one hostile value (see the location test).
    clean = data.draw(st.integers(0, 2), label="clean") == 0
    spoil = data.draw(st.sampled_from(["none", "level", "id", "name", "position", "phone", "version"])) \
        if clean else None
    editors = [(stage.clerk, "COUNTY"), (stage.owner, "ENTERPRISE")]
    if not clean:
        editors += [(stage.clerk, "COUNTY"), (stage.owner, "COUNTY"), (stage.clerk, "PROVINCE")]
    editor, level = data.draw(st.sampled_from(editors), label="editor, level")
    level_sent, bad_level = (level, False) if spoil not in (None, "level") else data.draw(st.one_of(
        st.just((level, False)), hostile_enum(["PROVINCE", "CITY", "COUNTY", "ENTERPRISE"])), label="level")
    raw_id = str(stage.mine_id) if spoil not in (None, "id") else data.draw(mine_ids(stage), label="mineId")
    target, allowed = _target(stage, raw_id, editor)
    person, bad_person = {}, False
    for key, sample, valid in (
            ("name", ["李建国", " 李 建国 ", "A" * 60], ["李建国", "王芳", "Zhang Wei", "阿卜杜拉·买买提"]),
            ("position", ["副县长", "矿长"], ["副县长", "矿长", "应急管理局局长"]),
            ("phone", ["13912345678", "0871-65123456", "+86 139 1234 5678", "14012345678", "1"],
             ["13912345678", "0871-65123456", "+86 139 1234 5678", "１３９１２３４５６７８"])):
        value = data.draw(st.sampled_from(valid) if spoil not in (None, key) else st.one_of(
            hostile_text(max_size=80), st.sampled_from(sample), st.sampled_from(sample),
            st.sampled_from([None, 5, []])), label=key)
        person[key] = value
        if not isinstance(value, str):
            bad_person = True
        elif nasty_unicode(value) or not value.strip() or len(value) > 1000:
            bad_person = True
        elif key == "phone" and re.search(r"[A-Za-z@]", unicodedata.normalize("NFKC", value)):
            bad_person = True
    if not clean and data.draw(st.integers(0, 12)) == 0:
        person = data.draw(st.sampled_from([None, "x", [], {"name": "李建国"}]))
        bad_person = True
    version, bad_version = _expected_version(data, stage, target, hostile=spoil in (None, "version"))
    bad_id = not allowed  # _target allows only a digit string or an Int naming a writable mine
    wrong_editor = level_sent != level or (editor is stage.clerk and level != "COUNTY") or \
        (editor is stage.owner and level != "ENTERPRISE")
    certainly_bad = bad_level or bad_person or bad_version or bad_id or wrong_editor
    variables = {"id": raw_id, "level": level_sent, "input": person, "v": version}
    body = graphql_body("mutation G($id: ID!, $level: GuarantorLevel!, $input: GuarantorInput!, $v: Int) { setGuarantor("
                        "mineId: $id, level: $level, input: $input, expectedVersion: $v) { id version guarantors "
                        "{ level name position phone } } }", variables)
    count("setGuarantor")

    def written(verdict, answer, after):
        mine = answer.data["setGuarantor"]
        stored = {g[0]: g[1:4] for g in after[1]}
        answered = {g["level"]: (g["name"], g["position"], g["phone"]) for g in mine["guarantors"]}
        if mine["version"] != after[0][0] or stored != answered:
            verdict.fail(f"answered {mine!r}, stored {after[:2]!r}")

    await _write(stage, "setGuarantor", body, editor, target, certainly_bad, written)


def _basic_state(db, mine_id: int) -> tuple:
    """Everything updateMine could touch: the whole mine row, its change records, the data version."""
    row = db.execute("SELECT * FROM mine WHERE id = ?", (mine_id,)).fetchone()
    return (None if row is None else tuple(row), *mine_state(db, mine_id)[2:])


_MINE_INPUT = {  # MineInput field -> (valid values, hostile strategy of (value, certainly invalid))
    "name": (["改名矿山", " 某某 铁矿 "], st.one_of(hostile_text(max_size=120).map(lambda t: (t, False)),
                                                st.sampled_from([("", True), ("   ", True), (5, True)]))),
    "designCapacity": ([3.0, 120.5], hostile_float()),
    "maxDepth": ([0.0, 450.0], hostile_float()),
    "workersPerShift": ([0, 25], hostile_int()),
    "productionStatus": (["NORMAL", "SUSPENDED"], hostile_enum(["NORMAL", "SUSPENDED", "CLOSED"])),
    "developmentMethod": (["SHAFT", "ADIT"], hostile_enum(["SHAFT", "ADIT", "COMBINED"])),
    "scale": ([None], hostile_enum(["LARGE", "MEDIUM", "SMALL"])),  # without scaleNote: always refused
    "principal": ([{"name": "李建国", "phone": "13912345678"}, None],
                  st.sampled_from([({"name": "李建国", "phone": "1"}, True), ({"name": ""}, True), ("x", True)])),
}


def _domain_bad(field: str, value) -> bool:
    """What the MineInput rules certainly refuse beyond the GraphQL types (a lower bound)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if field == "designCapacity":
        return number and value <= 0
    if field in ("maxDepth", "workersPerShift"):
        return number and value < 0
    if field == "scale":
        return value is not None  # an override needs a scaleNote
    return False


@FUZZ
@given(data=st.data())
async def test_update_mine_with_hostile_values(stage, data):
    """updateMine by the county's -001 (an editor) or the mine's own account (never): refused
    writes change nothing; accepted ones step the version by one (none when nothing differs)
    with a change record per changed field."""
    editor = data.draw(st.sampled_from([stage.clerk, stage.clerk, stage.clerk, stage.owner]), label="editor")
    fields = data.draw(st.lists(st.sampled_from(sorted(_MINE_INPUT)), min_size=1, max_size=4, unique=True))
    hostile = data.draw(st.booleans(), label="hostile")
    values, bad = {}, editor is not stage.clerk
    for field in fields:
        valid, spoilt = _MINE_INPUT[field]
        if hostile and data.draw(st.booleans()):
            value, invalid = data.draw(spoilt, label=field)
        else:
            value, invalid = data.draw(st.sampled_from(valid), label=field), False
        values[field] = value
        bad = bad or invalid or _domain_bad(field, value)
    raw_id = str(stage.mine_id) if not hostile else data.draw(mine_ids(stage), label="mineId")
    target, allowed = _target(stage, raw_id, stage.clerk)
    bad = bad or not allowed
    body = graphql_body("mutation U($id: ID!, $input: MineInput!) { updateMine(mineId: $id, input: $input) "
                        "{ id version name workersPerShift maxDepth designCapacity } }",
                        {"id": raw_id, "input": values})
    count("updateMine")
    db = stage.env.db
    before = _basic_state(db, target)
    before_version = mine_state(db, target)[0][0] if before[0] is not None else None
    answer = await send(stage.client, body, token=editor.token)
    verdict = Verdict("updateMine", answer, body)
    if verdict.clear(must_refuse=bad):
        verdict.unchanged(f"mine {target} (row, audit, data version)", before, _basic_state(db, target))
    else:
        FIGURES["accepted updateMine"] += 1
        after = _basic_state(db, target)
        mine = answer.data["updateMine"]
        stepped = after[0] != before[0]
        if mine["version"] != before_version + stepped:
            verdict.fail(f"version {mine['version']} after a write that {'changed' if stepped else 'kept'} the row")
        if stepped != (after[1] != before[1]):
            verdict.fail(f"change records went {before[1]} -> {after[1]} while the row {'changed' if stepped else 'stayed'}")
    verdict.done()
