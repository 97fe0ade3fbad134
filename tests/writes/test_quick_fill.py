"""Quick fill on a freshly seeded database: the people an account is recorded as having
entered are suggested before it has written anything through the service."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from support.queries import HISTORY, SET_GUARANTOR, SUGGESTIONS


@pytest.fixture(scope="module")
def county(fresh_env) -> dict:
    """The county whose -001 account entered the most COUNTY guarantors in the seed."""
    row = fresh_env.db.execute(
        "SELECT a.id, a.username, a.region_code, count(*) AS n FROM guarantor g JOIN account a ON a.id = g.entered_by "
        "WHERE g.level = 'COUNTY' GROUP BY a.id, a.username, a.region_code ORDER BY n DESC, a.username LIMIT 1"
    ).fetchone()
    assert row["username"] == f"{row['region_code']}-001" and row["n"] > 1
    return dict(row)


def _entered(db, account_id: int) -> dict[tuple[str, str, str], datetime]:
    """Recount: each person the account entered as a COUNTY guarantor, with the latest time."""
    latest: dict[tuple[str, str, str], datetime] = {}
    for name, position, phone, at in db.execute(
        "SELECT name, position, phone, updated_at FROM guarantor WHERE entered_by = ? AND level = 'COUNTY'",
        (account_id,),
    ):
        latest[(name, position, phone)] = max(at, latest.get((name, position, phone), at))
    return latest


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def _as_listed(suggestions: list[dict]) -> list[tuple[tuple[str, str, str], datetime]]:
    return [((s["name"], s["position"], s["phone"]), _utc(s["lastUsedAt"])) for s in suggestions]


async def test_seeded_entries_are_suggested_and_a_new_entry_comes_first(fresh_env, county):
    db, token = fresh_env.db, await fresh_env.token(county["username"])
    audited = db.execute(
        "SELECT count(*) FROM audit_log WHERE account_id = ? AND action = 'mine.guarantor'", (county["id"],)
    ).fetchone()[0]
    assert audited == 0  # nothing entered through the service yet: only the seeded rows can answer
    expected = _entered(db, county["id"])
    result = await fresh_env.gql(SUGGESTIONS, {"level": "COUNTY"}, token)
    assert result.errors is None, result.errors
    listed = _as_listed(result.data["guarantorSuggestions"])
    assert listed and dict(listed) == expected and len(listed) == len(expected)  # each person once
    assert [at for _, at in listed] == sorted((at for _, at in listed), reverse=True)  # most recent first

    # A new person entered through the service comes first, the seeded ones after it.
    mine = db.execute(
        "SELECT id, version FROM mine WHERE county_code = ? ORDER BY id LIMIT 1", (county["region_code"],)
    ).fetchone()
    person = {"name": "孙新来", "position": "副县长", "phone": "13800001111"}
    written = await fresh_env.gql(SET_GUARANTOR, {"id": str(mine["id"]), "level": "COUNTY", "input": person}, token)
    assert written.errors is None, written.errors
    after = _as_listed((await fresh_env.gql(SUGGESTIONS, {"level": "COUNTY"}, token)).data["guarantorSuggestions"])
    assert after[0][0] == tuple(person.values())
    # Who it replaced on that mine (if anyone) may drop out; nobody is listed twice.
    assert {key for key, _ in after[1:]} <= set(expected) and len({key for key, _ in after}) == len(after)

    # Entering a seeded person again moves that person to the top, still listed once.
    oldest = listed[-1][0]
    other = db.execute(
        "SELECT id FROM mine WHERE county_code = ? AND id != ? ORDER BY id LIMIT 1", (county["region_code"], mine["id"])
    ).fetchone()
    again = dict(zip(("name", "position", "phone"), oldest, strict=True))
    written = await fresh_env.gql(SET_GUARANTOR, {"id": str(other["id"]), "level": "COUNTY", "input": again}, token)
    assert written.errors is None, written.errors
    last = _as_listed((await fresh_env.gql(SUGGESTIONS, {"level": "COUNTY"}, token)).data["guarantorSuggestions"])
    assert [key for key, _ in last[:2]] == [oldest, tuple(person.values())]
    assert [key for key, _ in last].count(oldest) == 1


async def test_a_seeded_mine_starts_at_version_1_and_each_change_adds_one_history_entry(fresh_env, county):
    """The seed is an import: a mine with seeded guarantors is at version 1 with no history,
    and the version then counts exactly the changes its history lists."""
    db = fresh_env.db
    mine = db.execute(
        "SELECT m.id, m.version FROM mine m WHERE m.county_code = ? AND EXISTS "
        "(SELECT 1 FROM guarantor g WHERE g.mine_id = m.id) AND m.lat IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.mine_id = m.id) ORDER BY m.id LIMIT 1",
        (county["region_code"],),
    ).fetchone()
    viewer = await fresh_env.token("000000-001")
    before = (await fresh_env.gql(HISTORY, {"id": str(mine["id"])}, viewer)).data["mine"]
    assert before == {"version": 1, "history": []}
    person = {"name": "周历史", "position": "县长", "phone": "13800002222"}
    written = await fresh_env.gql(
        SET_GUARANTOR, {"id": str(mine["id"]), "level": "COUNTY", "input": person, "v": 1},
        await fresh_env.token(county["username"]),
    )
    assert written.errors is None and written.data["setGuarantor"]["version"] == 2
    after = (await fresh_env.gql(HISTORY, {"id": str(mine["id"])}, viewer)).data["mine"]
    assert after["version"] == 1 + len(after["history"]) == 2
    assert after["history"][0]["newValue"] == person
