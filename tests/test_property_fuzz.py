"""Bad input: every mutation and every filter or paging argument, fuzzed with hostile values.

Hypothesis sends huge strings (around and far beyond the request-size limit), control
characters, NUL bytes, lone surrogates (as JSON escapes), emoji, RTL and zero-width marks,
NaN and ±Infinity as JSON number tokens, integers past 32 and 64 bits (and past Python's
4,300-digit parsing limit), out-of-range and swapped coordinates, wrong enum values, wrong
types, malformed and forged cursors, malformed and forged bearer tokens, malformed bodies,
and documents from hypothesis-graphql (valid ones, and ones with one schema violation).

Every answer must be:
- an HTTP status below 500 with a JSON body;
- errors that each carry `extensions.code` from the contract — and never INTERNAL, since
  bad input deserves a clear error;
- a refusal wherever the value is certainly invalid (NaN, non-numbers, out-of-range, wrong
  enum, wrong token, stale version ...);
- nothing half-written: each write runs against a private database (`fresh_env`), and
  after every refused one the mine (version, location, guarantors), its change records in
  audit_log (`mine.*`; the refusal's own `access.refused` record is the audit working, not a
  change), the data version (raised by triggers on any mine or guarantor change), the account
  row and the sessions are exactly as before; after an accepted one, the version rose by one,
  one change record was added and the stored values are the ones answered.

Settings (environment): FUZZ_CASES examples per mutation and per read shape (default 300;
`make soak` raises it); FUZZ_SLOW_CASES for login and changePassword, which cost an argon2
hash each (default FUZZ_CASES / 3); PROPERTY_REPORT, a JSON file to merge the figures into;
PROPERTY_SHRINK as in jurisdiction_world. Logins, WeChat logins and password changes are
sent from in-process client addresses of their own (they are throttled and locked per address).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

import sqldb
from settings import Settings
from property_settings import property_profile
from queries import LOGIN
from reference_props import CONTRACT_CODES

pytestmark = pytest.mark.property

CASES = int(os.environ.get("FUZZ_CASES") or 300)
SLOW_CASES = int(os.environ.get("FUZZ_SLOW_CASES") or max(30, CASES // 3))
REPORT = os.environ.get("PROPERTY_REPORT")
SCHEMA_SDL = (Path(__file__).resolve().parent.parent / "schema.graphql").read_text(encoding="utf-8")
MAX_INT32 = 2**31 - 1

FUZZ = property_profile("minegraph-fuzz", CASES, HealthCheck.large_base_example)
SLOW = settings(FUZZ, max_examples=SLOW_CASES)

FIGURES: Counter = Counter()
FAILURES: list[dict] = []


# --------------------------------------------------------------------------- raw JSON with hostile number tokens


@dataclass(frozen=True)
class Raw:
    """A JSON value written verbatim into the body: NaN, Infinity, 1e999, a 5,000-digit integer ..."""

    token: str


def encode(payload) -> bytes:
    """JSON as a client could send it: lone surrogates as \\uD800 escapes, Raw tokens verbatim."""
    raws: list[str] = []

    def swap(value):
        if isinstance(value, Raw):
            raws.append(value.token)
            return f"@@raw{len(raws) - 1}@@"
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(payload), ensure_ascii=True, allow_nan=True)
    for i, token in enumerate(raws):
        text = text.replace(f'"@@raw{i}@@"', token, 1)
    return text.encode("ascii")


@dataclass
class Answer:
    status: int
    body: object
    text: str

    @property
    def errors(self) -> list[dict]:
        return (self.body.get("errors") if isinstance(self.body, dict) else None) or []

    @property
    def codes(self) -> list:
        return [(e.get("extensions") or {}).get("code") for e in self.errors]

    @property
    def data(self):
        return self.body.get("data") if isinstance(self.body, dict) else None


async def send(client: httpx.AsyncClient, body: bytes, *, token: str | None = None,
               authorization: bytes | str | None = None, content_type: str = "application/json") -> Answer:
    headers: dict = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if authorization is not None:
        headers["Authorization"] = authorization
    FIGURES["requests"] += 1
    FIGURES["bytes sent"] += len(body)
    try:
        response = await client.post("/graphql", content=body, headers=headers)
    except BaseException as error:  # an exception escaping the app: a real server answers 500
        return Answer(599, None, f"the app raised {error!r}")
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    return Answer(response.status_code, parsed, response.text[:2000])


def graphql_body(query: str, variables=None, **extra) -> bytes:
    return encode({"query": query, "variables": variables, **extra})


# --------------------------------------------------------------------------- the invariants


class Verdict:
    """The problems of one answer (and of the state around it)."""

    def __init__(self, what: str, answer: Answer, request: bytes) -> None:
        self.what, self.answer, self.request = what, answer, request
        self.problems: list[str] = []

    def fail(self, message: str) -> None:
        self.problems.append(message)

    def clear(self, must_refuse: bool, allowed: set[str] | None = None) -> bool:
        """Status < 500, a JSON body, coded errors (never INTERNAL); refused when it must be.
        True when the operation was refused."""
        a = self.answer
        FIGURES["answers checked"] += 1
        if a.status >= 500:
            FIGURES["5xx"] += 1
            self.fail(f"HTTP {a.status}: {a.text[:300]}")
            return True
        if not isinstance(a.body, dict) or not ("data" in a.body or "errors" in a.body):
            self.fail(f"not a GraphQL JSON answer (HTTP {a.status}): {a.text[:300]}")
            return True
        for error in a.errors:
            code = (error.get("extensions") or {}).get("code")
            FIGURES[f"code {code}"] += 1
            if code not in CONTRACT_CODES:
                FIGURES["uncoded errors"] += 1
                self.fail(f"error without a contract code: {error}")
            elif code == "INTERNAL":
                FIGURES["INTERNAL"] += 1
                self.fail(f"INTERNAL for bad input: {error}")
            elif allowed is not None and code not in allowed:
                self.fail(f"code {code}, expected one of {sorted(allowed)}: {error}")
        if a.status >= 400 and not a.errors:
            self.fail(f"HTTP {a.status} without errors: {a.text[:300]}")
        refused = bool(a.errors)
        if must_refuse and not refused:
            FIGURES["accepted invalid"] += 1
            self.fail(f"accepted a certainly invalid value: {a.text[:300]}")
        FIGURES["refusals" if refused else "acceptances"] += 1
        return refused

    def unchanged(self, label: str, before, after) -> None:
        FIGURES["states compared"] += 1
        if before != after:
            FIGURES["half-written"] += 1
            self.fail(f"half-written: {label} changed by a refused request:\n  before {before!r:.600}\n"
                      f"  after  {after!r:.600}")

    def done(self) -> None:
        if self.problems:
            FIGURES["failures"] += 1
            if len(FAILURES) < 20:
                FAILURES.append({"what": self.what, "request": excerpt(self.request),
                                 "status": self.answer.status, "answer": self.answer.text[:1000],
                                 "problems": self.problems[:10]})
        note(f"{self.what}\nrequest {excerpt(self.request)}\nanswer HTTP {self.answer.status} {self.answer.text[:1000]}")
        assert not self.problems, "\n".join(self.problems)


def excerpt(body: bytes, keep: int = 1500) -> str:
    """A request body for a report: whole, or its head and tail around the elided middle."""
    text = body.decode("latin-1")
    return text if len(text) <= 2 * keep else f"{text[:keep]} …[{len(text) - 2 * keep} bytes]… {text[-keep:]}"


# --------------------------------------------------------------------------- hostile values

SPECIAL_TEXT = [
    "", " ", "   ", "\x00", "a\x00b", "\ud800", "\udfff", "x\ud800y", "\udc00\ud800", "\u202e", "\u200f", "\u200b",
    "\ufeff", "\u2028", "\u2029", "\t", "\n", "\r\n", "\x7f", "\x1b[31m", "😀", "👨‍👩‍👧‍👦", "\U0010ffff", "\ufffe",
    "' OR 1=1 --", "'; DROP TABLE mine; --", "%", "_", "%%", "\\", "\\u0000", "<script>alert(1)</script>",
    "${jndi:ldap://x}", "{{7*7}}", "null", "None", "NaN", "Infinity", "-0", "0x10", "1e999", "__typename",
    "ＡＢＣ１２３", "١٢٣", "ا", "李建国", "副县长", "矿" * 200, "e\u0301", "\u0300",
]


def hostile_text(*, max_size: int = 60) -> st.SearchStrategy[str]:
    """Text a client should never send — and some it may (the checks decide which must be refused)."""
    return st.one_of(
        st.sampled_from(SPECIAL_TEXT),
        st.text(max_size=max_size),
        st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp", "So", "Lo", "Mn"]),
                max_size=max_size),
        st.lists(st.integers(0xD800, 0xDFFF).map(chr), min_size=1, max_size=4).map("".join),  # lone surrogates
        st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
        st.sampled_from([1_000, 10_000, 60_000, 99_000, 150_000, 1_000_000]).map(lambda n: "A" * n),  # body limit
        st.sampled_from([400, 3_000, 30_000]).map(lambda n: "中" * n),
    )


def raw_numbers() -> st.SearchStrategy[Raw]:
    return st.sampled_from([Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e999"), Raw("-1e999"),
                            Raw("1" + "0" * 5000), Raw("-" + "9" * 4400), Raw("1" + "0" * 400)])


def hostile_float() -> st.SearchStrategy:
    """(value, certainly invalid as a Float)"""
    return st.one_of(
        raw_numbers().map(lambda r: (r, True)),
        st.floats(allow_nan=False, allow_infinity=False).map(lambda x: (x, False)),
        st.sampled_from([1e308, -1e308, 5e-324, -0.0, 2.0**53 + 1]).map(lambda x: (x, False)),
        st.sampled_from([2**63, -2**63, 2**64, 2**80]).map(lambda x: (x, False)),  # ints are Floats too
        st.sampled_from(["1.5", "NaN", "", True, [], {}, [1.0]]).map(lambda x: (x, True)),
    )


def hostile_int() -> st.SearchStrategy:
    """(value, certainly invalid as an Int)"""
    return st.one_of(
        st.integers(-MAX_INT32 - 1, MAX_INT32).map(lambda n: (n, False)),
        st.sampled_from([2**31, -2**31 - 1, 2**53, 2**63 - 1, 2**63, -2**63, 2**64, 2**80, -2**80, 10**30])
        .map(lambda n: (n, True)),
        raw_numbers().map(lambda r: (r, True)),
        st.sampled_from([1.5, 1e20, "1", "", True, [1], {"n": 1}]).map(lambda x: (x, True)),
    )


def hostile_enum(valid: list[str]) -> st.SearchStrategy:
    wrong = [v.lower() for v in valid] + [v + " " for v in valid] + ["", "null", "WGS-84", "gcj02", "__typename",
                                                                    "LARGE\x00", "ＬＡＲＧＥ", "1"]
    return st.one_of(
        st.sampled_from(valid).map(lambda v: (v, False)),
        st.sampled_from(wrong).map(lambda v: (v, True)),
        hostile_text(max_size=12).filter(lambda t: t not in valid).map(lambda t: (t, True)),
        st.sampled_from([0, 1, True, ["LARGE"], {"v": 1}]).map(lambda v: (v, True)),
    )


def nasty_unicode(text: str) -> bool:
    """Control, surrogate or NUL characters: certainly not part of a name, title or phone.
    Judged as the server receives the text: JSON joins a surrogate pair into one character."""
    received = json.loads(json.dumps(text))
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in received)


# --------------------------------------------------------------------------- the database, read beside the service


def one(db, sql: str, *params):
    row = db.execute(sql, params).fetchone()
    return None if row is None else tuple(row)


def data_version(db):
    return one(db, "SELECT version FROM data_version")


def mine_state(db, mine_id: int) -> tuple:
    return (
        one(db, "SELECT version, lat, lng, source_datum, inside_county, location_updated_at, updated_at "
                "FROM mine WHERE id = ?", mine_id),
        [tuple(r) for r in db.execute("SELECT level, name, position, phone, updated_at, entered_by FROM guarantor "
                                      "WHERE mine_id = ? ORDER BY level", (mine_id,)).fetchall()],
        # The mine's change records. Refusals are audited too ("access.refused", written after the
        # answer, in the background): records of the attempt, not of a change, so not compared.
        one(db, "SELECT count(*) FROM audit_log WHERE mine_id = ? AND action LIKE 'mine.%'", mine_id),
        one(db, "SELECT count(*) FROM audit_log WHERE action LIKE 'mine.%'"),
        data_version(db),
    )


def account_state(db, username: str) -> tuple:
    return (
        one(db, "SELECT name, phone, email, password_hash, wechat_openid FROM account WHERE username = ?", username),
        one(db, "SELECT count(*), count(s.revoked_at) FROM auth_session s JOIN account a ON a.id = s.account_id "
                "WHERE a.username = ?", username),
    )


def sessions_state(db) -> tuple:
    return (one(db, "SELECT count(*), count(revoked_at) FROM auth_session"),
            one(db, "SELECT count(*) FROM account WHERE wechat_openid IS NOT NULL"), data_version(db))


# --------------------------------------------------------------------------- set-up: actors on a private database


@dataclass
class Actor:
    username: str
    token: str
    mine_id: int | None = None
    county: str | None = None


@dataclass
class Stage:
    env: object
    client: httpx.AsyncClient  # the module's own client address (logins use others, see login())
    national: Actor
    owner: Actor  # an enterprise account, the location editor of its mine
    clerk: Actor  # the -001 account of that mine's county: its COUNTY guarantor editor
    profile: Actor  # whose profile is fuzzed
    passworders: list[Actor]  # whose passwords are fuzzed (several: wrong old passwords count towards lockouts)
    passwords: dict[str, str]  # their current passwords
    spare: Actor  # for the minimal reproductions (never locked by the fuzz)
    mine_id: int
    county_mines: set[int]
    cursor: str
    addresses: itertools.count

    def __repr__(self) -> str:  # Hypothesis prints the fixtures of a failing example
        return f"Stage(mine {self.mine_id}, owner {self.owner.username}, clerk {self.clerk.username})"

    def _repr_pretty_(self, printer, cycle) -> None:  # Hypothesis's printer lists a dataclass's fields
        printer.text(repr(self))


async def login(env, username: str, password: str, address: str) -> str:
    transport = httpx.ASGITransport(app=env.app, client=(address, 41000))
    async with httpx.AsyncClient(transport=transport, base_url="http://minegraph.test") as client:
        answer = await send(client, graphql_body(LOGIN, {"u": username, "p": password}))
    assert not answer.errors, f"login {username}: {answer.text}"
    return answer.data["login"]["token"]


@pytest.fixture(scope="module")
async def stage(fresh_env):
    env, db = fresh_env, fresh_env.db
    started = time.monotonic()
    row = db.execute("SELECT m.id, m.code, m.county_code FROM mine m WHERE m.city_code IS NOT NULL "
                     "ORDER BY m.county_code, m.code LIMIT 1").fetchone()
    county = row["county_code"]
    password = env.settings.demo_password
    addresses = itertools.count(1)

    async def actor(username, **kw) -> Actor:
        return Actor(username, await login(env, username, password, f"192.0.2.{next(addresses)}"), **kw)

    owner = await actor(row["code"], mine_id=row["id"], county=county)
    clerk = await actor(f"{county}-001", county=county)
    national = await actor("000000-001")
    profile = await actor(f"{county}-002")
    spare = await actor(f"{county}-005")
    # A wrong oldPassword counts as a failed login (auth/lockout.py): 20 of them lock the account.
    # Spread the fuzz over enough accounts that none gets near that (and each request comes from
    # an address of its own, so the 5-per-address lock never applies either).
    others = [r["username"] for r in db.execute(
        "SELECT username FROM account WHERE tier = 'COUNTY' AND username LIKE '%-003' ORDER BY username").fetchall()]
    passworders = [await actor(u) for u in others[: max(4, SLOW_CASES // 12)]]
    transport = httpx.ASGITransport(app=env.app, client=("192.0.2.200", 42000))
    async with httpx.AsyncClient(transport=transport, base_url="http://minegraph.test") as client:
        page = await send(client, graphql_body("{ mines(first: 3) { edges { cursor } } }"), token=national.token)
        cursor = page.data["mines"]["edges"][1]["cursor"]
        county_mines = {r["id"] for r in db.execute("SELECT id FROM mine WHERE county_code = ?", (county,)).fetchall()}
        yield Stage(env, client, national, owner, clerk, profile, passworders,
                    {a.username: password for a in passworders}, spare, row["id"], county_mines, cursor,
                    itertools.count(1))
    FIGURES["seconds"] += round(time.monotonic() - started, 1)


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    if REPORT:
        target = Path(REPORT)
        current = json.loads(target.read_text()) if target.exists() and target.stat().st_size else {}
        current.setdefault(sqldb.BACKEND, {})["fuzz"] = {
            "backend": sqldb.BACKEND, "cases_configured": CASES, "slow_cases_configured": SLOW_CASES,
            "5xx": 0, "INTERNAL": 0, "uncoded errors": 0, "half-written": 0, "accepted invalid": 0,
            **dict(sorted(FIGURES.items())), "failures": FAILURES[:20],
        }
        target.write_text(json.dumps(current, indent=2, ensure_ascii=False, default=str) + "\n")


def count(kind: str) -> None:
    FIGURES[f"cases {kind}"] += 1
    FIGURES["cases"] += 1


# --------------------------------------------------------------------------- reads: every filter and paging argument

MINE_FILTER_FIELDS = {
    "regionCode": "text", "nameContains": "text", "mineralCodes": "text list",
    "scales": ("enum list", ["LARGE", "MEDIUM", "SMALL"]),
    "productionStatuses": ("enum list", ["NORMAL", "TRIAL", "CONSTRUCTION", "RECTIFICATION", "SUSPENDED",
                                         "LONG_SUSPENDED", "CLOSED"]),
    "developmentMethods": ("enum list", ["ADIT", "INCLINE", "SHAFT", "RAMP", "COMBINED"]),
    "supervisoryBodies": ("enum list", ["PROVINCE", "CITY", "COUNTY", "XPCC"]),
    "designCapacityMin": "float", "designCapacityMax": "float", "depthMin": "float", "depthMax": "float",
    "workersPerShiftMin": "int", "workersPerShiftMax": "int",
    "over30Workers": "bool", "over800mDepth": "bool", "missingLocation": "bool",
    "missingGuarantorLevel": ("enum", ["PROVINCE", "CITY", "COUNTY", "ENTERPRISE"]),
}


@st.composite
def hostile_filter(draw):
    """(MineFilter variable value, certainly invalid)"""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([("not an object", True), ([], True), (5, True), (None, False)]))
    spec, invalid = {}, False
    for key in draw(st.lists(st.sampled_from(sorted(MINE_FILTER_FIELDS)), min_size=1, max_size=4, unique=True)):
        kind = MINE_FILTER_FIELDS[key]
        if kind == "text":
            value = draw(st.one_of(hostile_text(), st.sampled_from(["530000", "000000", "999999", "110101"])))
            bad = nasty_unicode(value) and key == "regionCode"
        elif kind == "text list":
            value = draw(st.lists(st.one_of(hostile_text(max_size=8), st.sampled_from(["10", "1001", "100101"])),
                                  max_size=3))
            bad = any(v not in ("10", "1001", "100101") and nasty_unicode(v) for v in value)
        elif kind == "float":
            value, bad = draw(hostile_float())
        elif kind == "int":
            value, bad = draw(hostile_int())
        elif kind == "bool":
            value, bad = draw(st.one_of(st.booleans().map(lambda b: (b, False)),
                                        st.sampled_from(["true", 1, 0, "", [True]]).map(lambda v: (v, True))))
        elif kind[0] == "enum":
            value, bad = draw(hostile_enum(kind[1]))
        else:
            items = draw(st.lists(hostile_enum(kind[1]), max_size=3))
            value, bad = [v for v, _ in items], any(b for _, b in items)
        spec[key], invalid = value, invalid or bad
    if draw(st.integers(0, 9)) == 0:
        spec[draw(st.sampled_from(["foo", "regioncode", "__proto__", "", "nameContains\x00"]))] = 1
        invalid = True
    return spec, invalid


@st.composite
def hostile_cursor(draw, real: str):
    """(after, certainly invalid): forged, altered and malformed cursors."""
    kind = draw(st.sampled_from(["real", "flip", "cut", "extend", "random b64", "text", "null", "number"]))
    if kind == "real":
        return real, False
    if kind == "null":
        return None, False
    if kind == "number":
        return draw(st.sampled_from([0, 1, 2**80, 1.5])), True
    if kind == "flip":
        raw = bytearray(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))
        i = draw(st.integers(0, len(raw) - 1))
        raw[i] ^= 1 << draw(st.integers(0, 7))
        return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="), True
    if kind == "cut":
        return real[: draw(st.integers(0, len(real) - 1))], True
    if kind == "extend":
        return real + draw(st.sampled_from(["=", "==", "A", "\x00", "AAAA", real])), True
    if kind == "random b64":
        raw = draw(st.binary(max_size=200))
        return base64.urlsafe_b64encode(raw).decode().rstrip("=" if draw(st.booleans()) else ""), True
    value = draw(hostile_text())
    return value, value != real


READ_SHAPES = {
    "mines": ("query Q($f: MineFilter, $n: Int, $a: String) { mines(filter: $f, first: $n, after: $a) "
              "{ totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"),
    "region": ("query Q($c: String, $f: MineFilter, $n: Int, $a: String) { region(code: $c) { code "
               "stats(filter: $f) { total } completeness(filter: $f) { total } "
               "mines(filter: $f, first: $n, after: $a) { totalCount } } }"),
    "minerals": ("query Q($p: String, $c: String, $f: MineFilter) { mineralTypes(parentCode: $p) "
                 "{ code stats(regionCode: $c, filter: $f) { total } } }"),
    "near": ("query Q($lat: Float!, $lng: Float!, $d: Datum!, $r: Float!, $n: Int!) "
             "{ minesNear(lat: $lat, lng: $lng, datum: $d, radiusKm: $r, first: $n) { distanceKm mine { id } } }"),
    "mine": "query Q($id: ID!, $n: Int) { mine(id: $id) { id history(first: $n) { field } } }",
}


@FUZZ
@given(data=st.data())
async def test_every_filter_and_paging_argument_answers_a_clear_error(stage, data):
    shape = data.draw(st.sampled_from(sorted(READ_SHAPES)), label="shape")
    variables, invalid = {}, False
    if shape in ("mines", "region"):
        (variables["f"], bad_f), (variables["n"], bad_n), (variables["a"], bad_a) = (
            data.draw(hostile_filter()), data.draw(hostile_int()), data.draw(hostile_cursor(stage.cursor)))
        invalid = bad_f or bad_n or bad_a
        if isinstance(variables["n"], int) and not bad_n and not 0 <= variables["n"] <= 100:
            invalid = True  # first from 0 to 100
        if shape == "region":
            variables["c"] = data.draw(st.one_of(st.none(), hostile_text(max_size=8), st.sampled_from(["530000"])))
    elif shape == "minerals":
        (variables["f"], invalid) = data.draw(hostile_filter())
        variables["p"] = data.draw(st.one_of(st.none(), hostile_text(max_size=8), st.sampled_from(["10", "1001"])))
        variables["c"] = data.draw(st.one_of(st.none(), hostile_text(max_size=8), st.sampled_from(["530000"])))
    elif shape == "near":
        (variables["lat"], bad_lat), (variables["lng"], bad_lng) = data.draw(coordinates())
        variables["d"], bad_d = data.draw(hostile_enum(["WGS84", "GCJ02"]))
        variables["r"], bad_r = data.draw(hostile_float())
        variables["n"], bad_n = data.draw(hostile_int())
        invalid = bad_lat or bad_lng or bad_d or bad_r or bad_n
    else:
        variables["id"] = data.draw(st.one_of(hostile_text(max_size=30), st.integers().map(str),
                                              st.sampled_from([str(stage.mine_id), 2**80, -1, 1.5, None, []])))
        variables["n"], invalid = data.draw(hostile_int())
        invalid = invalid or variables["id"] is None or isinstance(variables["id"], list | float)
    caller = data.draw(st.sampled_from([stage.national, stage.clerk, stage.owner]), label="caller")
    body = graphql_body(READ_SHAPES[shape], variables)
    count(f"read {shape}")
    before = data_version(stage.env.db)
    answer = await send(stage.client, body, token=caller.token)
    verdict = Verdict(f"read {shape} as {caller.username}", answer, body)
    verdict.clear(must_refuse=invalid)
    verdict.unchanged("data version", before, data_version(stage.env.db))
    verdict.done()


CITIES = [(25.04, 102.71), (39.91, 116.40), (30.57, 104.07), (34.26, 108.94), (43.82, 87.61), (38.04, 114.51)]


def inside_china(draw):
    """((lat, False), (lng, False)): a point a few km from a provincial capital."""
    lat, lng = draw(st.sampled_from(CITIES))
    return (lat + draw(st.floats(-0.05, 0.05)), False), (lng + draw(st.floats(-0.05, 0.05)), False)


INSIDE_CHINA = st.composite(inside_china)()


@st.composite
def coordinates(draw):
    """((lat, certainly invalid), (lng, certainly invalid))"""
    kind = draw(st.sampled_from(["inside", "china", "swapped", "range", "far", "hostile", "hostile"]))
    if kind == "inside":
        return inside_china(draw)
    if kind == "china":
        return (draw(st.floats(22, 45)), False), (draw(st.floats(80, 125)), False)
    if kind == "swapped":
        return (draw(st.floats(80, 125)), True), (draw(st.floats(22, 45)), True)
    if kind == "range":
        lat = draw(st.one_of(st.floats(90.0001, 1e6), st.floats(-1e6, -90.0001), st.floats(22, 45)))
        lng = draw(st.one_of(st.floats(180.0001, 1e6), st.floats(-1e6, -180.0001), st.floats(80, 125)))
        bad = not (-90 <= lat <= 90 and -180 <= lng <= 180)
        return (lat, bad), (lng, bad)
    if kind == "far":
        lat, lng = draw(st.sampled_from([(48.85, 2.35), (-33.87, 151.21), (0.0, 0.0), (40.7, -74.0), (-90.0, 180.0)]))
        return (lat, True), (lng, True)
    return draw(hostile_float()), draw(hostile_float())


# --------------------------------------------------------------------------- bearer tokens


@FUZZ
@given(data=st.data())
async def test_forged_and_malformed_tokens_are_unauthenticated(stage, data):
    real = stage.national.token
    header = data.draw(st.one_of(
        st.sampled_from(["", "Bearer", "Bearer ", "Bearer  ", "bearer", "Basic dXNlcjpwYXNz", "Token " + real,
                         "Bearer " + real + "x", "Bearer " + real[:-1], "Bearer x" + real, "Bearer " + real.upper(),
                         "Bearer " + "A" * 10_000, "Bearer " + "A" * 100_000, "Bearer\t" + "junk", "Bearer null",
                         "Bearer undefined", "Bearer " + base64.b64encode(b"000000-001").decode(),
                         "Bearer " + "x" * 43, "Bearer \x00", "Bearer " + real.replace(real[5], "\x00", 1)]),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=200).map(lambda t: "Bearer " + t),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=200),
        st.binary(max_size=120).filter(lambda b: b"\r" not in b and b"\n" not in b)
        .map(lambda b: b"Bearer " + b),
        st.text(max_size=60).map(lambda t: ("Bearer " + t).encode("utf-8", "surrogatepass")),
        st.sampled_from(["Bearer 李建国", "Bearer é", "Bearer 😀"]).map(lambda t: t.encode("utf-8")),
    ), label="Authorization")
    text = header.decode("latin-1") if isinstance(header, bytes) else header
    scheme, _, sent = text.partition(" ")
    assume(not (scheme.lower() == "bearer" and sent.strip() == real))  # that one is simply valid
    operation = data.draw(st.sampled_from(["{ me { username } }", "{ dashboard { stats { total } } }",
                                           "mutation { logout }", "mutation { updateProfile(input: {name: \"x\"}) "
                                                                  "{ username } }"]))
    body = graphql_body(operation)
    count("token")
    before = sessions_state(stage.env.db)
    accounts_before = account_state(stage.env.db, stage.national.username)
    answer = await send(stage.client, body, authorization=header)
    verdict = Verdict(f"Authorization {header[:80]!r}", answer, body)
    verdict.clear(must_refuse=True, allowed={"UNAUTHENTICATED", "BAD_USER_INPUT"})
    verdict.unchanged("sessions", before, sessions_state(stage.env.db))
    verdict.unchanged("account", accounts_before, account_state(stage.env.db, stage.national.username))
    verdict.done()


# --------------------------------------------------------------------------- login, wechatLogin


def wechat_codes() -> st.SearchStrategy:
    # `err-…`, `http-…` and `raw-html` make the fake WeChat fail on its side (which is INTERNAL by design).
    return hostile_text(max_size=80).filter(lambda c: not c.startswith(("err-", "http-", "raw-html")))


async def send_from_own_address(stage, body: bytes, token: str | None = None):
    """Send from a client address of its own: login throttling is per address."""
    n = next(stage.addresses)
    transport = httpx.ASGITransport(app=stage.env.app, client=(f"198.18.{n // 250 % 250}.{n % 250 + 1}", 43000))
    async with httpx.AsyncClient(transport=transport, base_url="http://minegraph.test") as client:
        return await send(client, body, token=token)


@SLOW
@given(data=st.data())
async def test_login_with_hostile_credentials_is_refused_and_opens_no_session(stage, data):
    username = data.draw(st.one_of(hostile_text(max_size=40), st.sampled_from(
        [stage.owner.username, stage.clerk.username, "000000-001", "000000-001 ", " 000000-001", "000000-00１",
         "000000-001\x00", "000000-001\ud800"])), label="username")
    demo = stage.env.settings.demo_password
    password = data.draw(st.one_of(hostile_text(), st.sampled_from([demo + " ", " " + demo, demo.upper(), demo[:-1],
                                                                    demo + "\x00", ""])), label="password")
    code = data.draw(st.none() | wechat_codes(), label="wechatCode")
    assume(password != demo)
    variables = {"u": username, "p": password, "code": code}
    body = graphql_body("mutation L($u: String!, $p: String!, $code: String) { login(username: $u, password: $p, "
                        "wechatCode: $code) { token user { username } } }", variables)
    count("login")
    before = sessions_state(stage.env.db)
    answer = await send_from_own_address(stage, body)
    verdict = Verdict(f"login {username[:40]!r}", answer, body)
    verdict.clear(must_refuse=True)
    verdict.unchanged("sessions and WeChat bindings", before, sessions_state(stage.env.db))
    verdict.done()


@FUZZ
@given(code=wechat_codes())
async def test_wechat_login_with_hostile_codes_is_refused(stage, code):
    body = graphql_body("mutation W($c: String!) { wechatLogin(code: $c) { token } }", {"c": code})
    count("wechatLogin")
    before = sessions_state(stage.env.db)
    answer = await send_from_own_address(stage, body)
    verdict = Verdict(f"wechatLogin {code[:40]!r}", answer, body)
    verdict.clear(must_refuse=True)
    verdict.unchanged("sessions and WeChat bindings", before, sessions_state(stage.env.db))
    verdict.done()


# --------------------------------------------------------------------------- account mutations


@SLOW
@given(data=st.data())
async def test_change_password_with_hostile_values(stage, data):
    who = data.draw(st.sampled_from(stage.passworders), label="account")
    current = stage.passwords[who.username]
    old = data.draw(st.one_of(st.just(current), st.just(current), hostile_text()), label="old")
    new = data.draw(st.one_of(hostile_text(max_size=140), st.just("Tr0ub4dor&3x" + str(data.draw(st.integers(0, 99))))),
                    label="new")
    confirm = data.draw(st.one_of(st.just(new), hostile_text()), label="confirm")
    variables = {"old": old, "new": new, "confirm": confirm}
    body = graphql_body("mutation C($old: String!, $new: String!, $confirm: String!) { changePassword("
                        "oldPassword: $old, newPassword: $new, confirmPassword: $confirm) }", variables)
    count("changePassword")
    certainly_bad = old != current or new != confirm or new == old or nasty_unicode(new) or len(new) > 1000
    before = account_state(stage.env.db, who.username)
    answer = await send_from_own_address(stage, body, token=who.token)
    verdict = Verdict(f"changePassword of {who.username}", answer, body)
    if verdict.clear(must_refuse=certainly_bad):
        verdict.unchanged("account and its sessions", before, account_state(stage.env.db, who.username))
    else:
        after = account_state(stage.env.db, who.username)
        FIGURES["accepted changePassword"] += 1
        if after[0][3] == before[0][3]:
            verdict.fail("changePassword answered true but the password hash did not change")
        if answer.data != {"changePassword": True}:
            verdict.fail(f"unexpected answer {answer.data!r}")
        stage.passwords[who.username] = new
    verdict.done()


@FUZZ
@given(data=st.data())
async def test_update_profile_with_hostile_values(stage, data):
    who = stage.profile
    profile, certainly_bad = {}, False
    for key in data.draw(st.lists(st.sampled_from(["name", "phone", "email"]), max_size=3, unique=True)):
        value = data.draw(st.one_of(hostile_text(max_size=80), st.none(), st.sampled_from(
            {"name": ["周敏", " 周  敏 ", "A" * 51], "phone": ["13912345678", "0871-65123456", "+86 139 1234 5678",
                                                              "１３９１２３４５６７８", "1391234567", "14012345678"],
             "email": ["zhou@example.cn", "a@b", "@", "zhou@例子.中国", "x" * 300 + "@example.cn"]}[key]),
            st.sampled_from([5, True, [], {}])), label=key)
        profile[key] = value
        if isinstance(value, str):
            bad = nasty_unicode(value) or len(value) > 1000
            if key == "name":
                bad = bad or not value.strip()
            if key == "phone" and value.strip():
                bad = bad or re.search(r"[A-Za-z@]", unicodedata.normalize("NFKC", value)) is not None
            if key == "email" and value.strip():
                bad = bad or "@" not in value
            certainly_bad = certainly_bad or bad
        elif value is not None:
            certainly_bad = True
    if data.draw(st.integers(0, 9)) == 0:
        profile = data.draw(st.sampled_from([None, "x", [], 5]))
        certainly_bad = True
    body = graphql_body("mutation P($input: ProfileInput!) { updateProfile(input: $input) { name phone email } }",
                        {"input": profile})
    count("updateProfile")
    before = account_state(stage.env.db, who.username)
    answer = await send(stage.client, body, token=who.token)
    verdict = Verdict("updateProfile", answer, body)
    if verdict.clear(must_refuse=certainly_bad):
        verdict.unchanged("account", before, account_state(stage.env.db, who.username))
    else:
        FIGURES["accepted updateProfile"] += 1
        name, phone, email = account_state(stage.env.db, who.username)[0][:3]
        answered = answer.data["updateProfile"]
        if (answered["name"], answered["phone"], answered["email"]) != (name, phone, email):
            verdict.fail(f"answered {answered!r}, stored {(name, phone, email)!r}")
        for key, value in profile.items():
            if value is None and (answered[key] != before[0][("name", "phone", "email").index(key)]):
                verdict.fail(f"{key}: null must leave it as it was")
    verdict.done()


# --------------------------------------------------------------------------- mine writes


def _target(stage: Stage, raw, editor: Actor) -> tuple[int, bool]:
    """(the mine whose state to compare, whether the editor may write it at all). Leading zeros
    ("05") are left open: the contract neither requires nor forbids reading them as 5."""
    if isinstance(raw, str) and re.fullmatch(r"[0-9]{1,18}", raw):
        mine_id = int(raw)
        if editor is stage.owner:
            return (mine_id if mine_id <= 10**6 else stage.mine_id), mine_id == stage.mine_id
        return (mine_id if mine_id <= 10**6 else stage.mine_id), mine_id in stage.county_mines
    return stage.mine_id, False


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
    target, allowed = _target(stage, raw_id if not isinstance(raw_id, int) or isinstance(raw_id, bool) else str(raw_id),
                              editor)
    current = mine_state(stage.env.db, target)[0]
    version = data.draw(st.one_of(st.none(), st.just(current[0] if current else 1))
                        if spoil not in (None, "version") else
                        st.one_of(st.none(), st.just(current[0] if current else 1), hostile_int().map(lambda v: v[0])),
                        label="expectedVersion")
    bad_version = version is not None and not (isinstance(version, int) and not isinstance(version, bool)
                                               and current is not None and version == current[0])
    bad_id = not isinstance(raw_id, str | int) or isinstance(raw_id, bool) or not allowed
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
    target, allowed = _target(stage, raw_id if not isinstance(raw_id, int) or isinstance(raw_id, bool) else str(raw_id),
                              editor)
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
    current = mine_state(stage.env.db, target)[0]
    version = data.draw(st.one_of(st.none(), st.just(current[0] if current else 1))
                        if spoil not in (None, "version") else
                        st.one_of(st.none(), st.just(current[0] if current else 1), hostile_int().map(lambda v: v[0])),
                        label="expectedVersion")
    bad_version = version is not None and not (isinstance(version, int) and not isinstance(version, bool)
                                               and current is not None and version == current[0])
    bad_id = not isinstance(raw_id, str | int) or isinstance(raw_id, bool) or not allowed
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


@FUZZ
@given(data=st.data())
async def test_logout_with_hostile_tokens_revokes_nothing(stage, data):
    header = data.draw(st.one_of(
        st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=300).map(lambda t: "Bearer " + t),
        st.sampled_from(["Bearer " + stage.clerk.token[:-2], "Bearer " + stage.clerk.token + "=", "Bearer",
                         "Bearer " + "Z" * 10_000])))
    assume(header.split(" ", 1)[-1].strip() not in {a.token for a in (stage.national, stage.owner, stage.clerk,
                                                                      stage.profile, stage.spare,
                                                                      *stage.passworders)})
    body = graphql_body("mutation { logout }")
    count("logout")
    before = sessions_state(stage.env.db)
    answer = await send(stage.client, body, authorization=header)
    verdict = Verdict("logout", answer, body)
    verdict.clear(must_refuse=True, allowed={"UNAUTHENTICATED", "BAD_USER_INPUT"})
    verdict.unchanged("sessions and WeChat bindings", before, sessions_state(stage.env.db))
    verdict.done()


# --------------------------------------------------------------------------- bodies and documents


BROKEN_BODIES = [
    b"", b"{", b"}", b"null", b"[]", b"[{}]", b'"query"', b"0", b"NaN", b"\xff\xfe\x00", b"{\"query\": \"{ me { username }",
    b'{"query": null}', b'{"query": 5}', b'{"query": ["{ me { username } }"]}', b'{"query": {"a": 1}}',
    b'{"query": "{ me { username } }", "variables": "x"}', b'{"query": "{ me { username } }", "variables": [1]}',
    b'{"query": "{ me { username } }", "variables": NaN}', b'{"query": "{ me { username } }", "operationName": 7}',
    b'{"query": "{ me { username } }", "operationName": "Nope"}', b'{"query": "{ me { username } }", "extensions": 5}',
    b'{"query": "{ me { username } }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": 5}}}',
    b'{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "' + b"0" * 64 + b'"}}}',
    b'{"query": "{ me { username } }", "query": "{ options { scales { value } } }"}',  # (not logout: its token is shared)
    b'{"query": "\\ud800"}', b'{"query": "{ me { username \\u0000 } }"}', b'{"query": "' + b"{" * 5000 + b'"}',
    b'{"query": "' + b"{ me " * 3000 + b'"}', b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    b'{"query": "{ me { username } }"}' + b" " * 200_000,
    b'{"query": "query($n: Int) { mines(first: $n) { totalCount } }", "variables": {"n": 1' + b"0" * 5000 + b"}}",
    b'{"query": "query($n: Int) { mines(first: $n) { totalCount } }", "variables": {"n": 18446744073709551616}}',
    b'{"query": "query($a: String) { mines(after: $a) { totalCount } }", "variables": {"a": "\\ud800"}}',
    b'{"query": "{ __schema { types { name } } }"}', b'{"query": "subscription { me { username } }"}',
    b'{"query": "{ me { username } } { me { username } }"}',
]


@settings(FUZZ, max_examples=max(len(BROKEN_BODIES) * 3, CASES // 3))
@given(data=st.data())
async def test_malformed_bodies_answer_coded_json(stage, data):
    body = data.draw(st.one_of(st.sampled_from(BROKEN_BODIES), st.binary(max_size=300),
                               st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))), label="body")
    content_type = data.draw(st.sampled_from(["application/json", "application/json", "text/plain",
                                              "application/x-www-form-urlencoded", "multipart/form-data",
                                              "application/graphql-response+json", ""]), label="Content-Type")
    count("body")
    before = data_version(stage.env.db)
    answer = await send(stage.client, body, token=stage.national.token, content_type=content_type)
    verdict = Verdict(f"body ({content_type})", answer, body)
    verdict.clear(must_refuse=False)
    verdict.unchanged("data version", before, data_version(stage.env.db))
    verdict.done()


_GENERATED: dict = {}


def _generated(mode_name: str):
    import hypothesis_graphql

    if mode_name not in _GENERATED:
        _GENERATED[mode_name] = _build_generated(hypothesis_graphql, getattr(hypothesis_graphql.Mode, mode_name))
    return _GENERATED[mode_name]


def _build_generated(hypothesis_graphql, mode):
    return hypothesis_graphql.from_schema(SCHEMA_SDL, mode=mode, fields=[
        "me", "dashboard", "region", "mine", "mines", "mineralTypes", "options", "minesNear", "guarantorSuggestions",
        "updateProfile", "updateMineLocation", "setGuarantor",
    ])


@settings(FUZZ, max_examples=max(50, CASES // 3))
@given(data=st.data())
async def test_generated_documents_answer_coded_errors(stage, data):
    """hypothesis-graphql: valid operations with arbitrary values, and operations with one schema
    violation (which must be refused before anything runs)."""
    negative = data.draw(st.booleans(), label="negative")
    query = data.draw(_generated("NEGATIVE" if negative else "POSITIVE"), label="document")
    caller = data.draw(st.sampled_from([stage.owner, stage.clerk]), label="caller")
    body = graphql_body(query)
    count("generated negative" if negative else "generated")
    before = mine_state(stage.env.db, stage.mine_id)
    answer = await send(stage.client, body, token=caller.token)
    verdict = Verdict(f"generated ({'invalid' if negative else 'valid'}) as {caller.username}", answer, body)
    refused = verdict.clear(must_refuse=negative,
                            allowed={"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "BAD_USER_INPUT"}
                            if negative else None)
    if negative and refused:
        verdict.unchanged(f"mine {stage.mine_id}", before, mine_state(stage.env.db, stage.mine_id))
    verdict.done()


# --------------------------------------------------------------------------- what the fuzz found, reduced to one request


async def _read(stage: Stage, body: bytes) -> Answer:
    # A session of its own: the fuzz above may legitimately end the shared national one.
    login = graphql_body("mutation L($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                         {"u": "000000-010", "p": Settings().demo_password})
    token = (await send(stage.client, login)).data["login"]["token"]
    return await send(stage.client, body, token=token)


async def test_an_integer_past_4300_digits_is_a_clear_error(stage):
    """Python's JSON parser refuses integers longer than 4,300 digits with ValueError, which
    escapes the app (a real server answers 500) instead of a 400 with BAD_USER_INPUT."""
    answer = await _read(stage, b'{"query": "query($n: Int) { mines(first: $n) { totalCount } }", '
                                b'"variables": {"n": 1' + b"0" * 5000 + b"}}")
    assert answer.status < 500, answer.text
    assert answer.codes == ["BAD_USER_INPUT"], answer.text


async def test_an_int_variable_past_64_bits_is_bad_user_input(stage):
    """`first: 18446744073709551616` (2**64) is answered INTERNAL: the response cache serialises the
    raw variables with orjson (64-bit integers at most) before graphql-core has refused the value."""
    answer = await _read(stage, b'{"query": "query($n: Int) { mines(first: $n) { totalCount } }", '
                                b'"variables": {"n": 18446744073709551616}}')
    assert answer.codes == ["BAD_USER_INPUT"], answer.text


async def test_a_lone_surrogate_in_a_variable_is_a_clear_error(stage):
    """A lone surrogate (\\ud800, valid JSON) in any variable is answered INTERNAL: orjson refuses to
    serialise it into the response-cache key."""
    answer = await _read(stage, b'{"query": "query($a: String) { mines(first: 1, after: $a) { totalCount } }", '
                                b'"variables": {"a": "\\ud800"}}')
    assert answer.codes == ["BAD_USER_INPUT"], answer.text


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_nan_and_infinities_are_refused_even_after_null_was_cached(stage, token):
    """orjson writes NaN and ±Infinity as null, so in the response-cache key `depthMin: NaN` is
    `depthMin: null`: once the null query has been answered, NaN and the infinities are served
    its cached answer instead of BAD_USER_INPUT (contract: NaN or infinities are BAD_USER_INPUT)."""
    query = b'{"query": "query($f: MineFilter) { mines(filter: $f, first: 1) { totalCount } }", "variables": '
    first = await _read(stage, query + b'{"f": {"depthMin": null, "workersPerShiftMin": 7}}}')
    assert first.errors == [] and first.data["mines"]["totalCount"] > 0
    answer = await _read(stage, query + b'{"f": {"depthMin": ' + token.encode() + b', "workersPerShiftMin": 7}}}')
    assert answer.codes == ["BAD_USER_INPUT"], answer.text


@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b'"abc"', b"[1]"])
async def test_a_first_that_is_not_an_int_is_bad_user_input(stage, value):
    """Found by the fuzz: `first: NaN` (or Infinity, "abc", [1]) was answered INTERNAL: the cost
    estimate (schema/cost.py) called int() on the raw variable before graphql-core had refused it.
    (Passes once the estimate leaves values of the wrong type to graphql-core.)"""
    answer = await _read(stage, b'{"query": "query($n: Int) { mines(first: $n) { totalCount } }", '
                                b'"variables": {"n": ' + value + b"}}")
    assert answer.codes == ["BAD_USER_INPUT"], answer.text


async def test_a_lone_surrogate_in_an_enum_value_is_a_clear_error(stage):
    """A wrong enum value is echoed in graphql-core's message; when it holds a lone surrogate the
    answer cannot be encoded (orjson), and the exception escapes the app: a real server answers 500."""
    body = encode({"query": "mutation M($d: Datum!) { updateMineLocation(mineId: \"1\", lat: 25.04, lng: 102.71, "
                            "datum: $d) { version } }", "variables": {"d": "\ud800"}})
    answer = await send(stage.client, body, token=stage.owner.token)
    assert answer.status < 500, answer.text
    assert answer.codes == ["BAD_USER_INPUT"], answer.text


@pytest.mark.parametrize("mutation", ["login", "changePassword"])
async def test_a_lone_surrogate_in_a_password_is_refused_not_internal(stage, mutation):
    """argon2 hashes the UTF-8 bytes of the password; a lone surrogate cannot be encoded, and the
    UnicodeEncodeError is answered INTERNAL instead of a refusal."""
    if mutation == "login":
        body = encode({"query": LOGIN, "variables": {"u": "000000-009", "p": "\ud800"}})
        transport = httpx.ASGITransport(app=stage.env.app, client=("198.51.100.77", 44000))
        async with httpx.AsyncClient(transport=transport, base_url="http://minegraph.test") as client:
            answer = await send(client, body)
        assert answer.codes == ["UNAUTHENTICATED"] or answer.codes == ["BAD_USER_INPUT"], answer.text
    else:
        body = encode({"query": "mutation C($o: String!, $n: String!) { changePassword(oldPassword: $o, "
                                "newPassword: $n, confirmPassword: $n) }", "variables": {"o": "\ud800", "n": "x"}})
        answer = await send(stage.client, body, token=stage.spare.token)
        assert answer.codes == ["BAD_USER_INPUT"], answer.text


@pytest.mark.parametrize("body", [b"\x87\xae\x82", b"\xff\xfe\x00", b"null", b"0", b'"query"',
                                  b"[" * 50_000 + b"]" * 50_000], ids=["latin", "bom", "null", "number", "string",
                                                                      "deep"])
async def test_a_body_that_is_not_a_json_object_is_a_400(stage, body):
    """Bodies that are not UTF-8, not a JSON object, or nested past the parser's recursion limit
    raise out of the app (UnicodeDecodeError, AttributeError, RecursionError): a real server
    answers 500 instead of 400 with BAD_USER_INPUT."""
    answer = await _read(stage, body)
    assert answer.status == 400, answer.text
    assert answer.codes == ["BAD_USER_INPUT"], answer.text


async def test_a_nul_in_a_username_is_refused_not_internal(stage):
    """Found by the login fuzz on PostgreSQL: a username holding NUL ("\\x00", valid in JSON) reaches
    the account lookup, PostgreSQL refuses the text ("invalid byte sequence for encoding UTF8:
    0x00") and the login answers INTERNAL. SQLite stores and compares NUL, so it answers
    UNAUTHENTICATED there."""
    body = encode({"query": LOGIN, "variables": {"u": "000000-001\x00", "p": "wrong password"}})
    transport = httpx.ASGITransport(app=stage.env.app, client=("198.51.100.78", 44001))
    async with httpx.AsyncClient(transport=transport, base_url="http://minegraph.test") as client:
        answer = await send(client, body)
    assert answer.codes in (["UNAUTHENTICATED"], ["BAD_USER_INPUT"]), answer.text
