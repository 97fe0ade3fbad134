"""Deterministic synthetic demo dataset, produced as plain tuples for bulk insert.

Every number that shapes the data comes from seed/data/demo_distributions.json
and every word from seed/data/demo_names.json; this module only draws from
them. Separate random streams (counties, officials, mines), each seeded from
the dataset seed, keep one part's draws from shifting another's.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from models.enums import (DevelopmentMethod, GuarantorLevel, MineScale, RegionLevel,
                          SupervisoryBody, UserTier)
from seed.county_points import CountyPoints
from seed.people import People, Picker, choice, epoch
from seed.reference import load_json, load_scale_table, mineral_rows, region_rows

MINE_COLUMNS = (
    "id", "code", "name", "province_code", "city_code", "county_code",
    "mineral_code", "group_code", "category_code", "scale", "scale_override_note",
    "design_capacity", "capacity_unit", "development_method", "development_detail",
    "max_depth", "workers_per_shift", "production_status", "supervisory_body",
    "principal_name", "principal_phone", "lat", "lng", "source_datum", "inside_county",
    "location_updated_at", "updated_at", "version",
)
ACCOUNT_COLUMNS = (
    "id", "username", "password_hash", "tier", "region_code", "mine_id",
    "guarantor_level", "name", "phone", "email", "created_at",
)
GUARANTOR_COLUMNS = ("mine_id", "level", "name", "position", "phone", "updated_at", "entered_by")

Stamp = Callable[[int], object]  # UTC epoch seconds -> the value the database takes

SMALL, MEDIUM, LARGE = MineScale.SMALL.value, MineScale.MEDIUM.value, MineScale.LARGE.value
_LABEL = {s.value: s.label for s in MineScale}
_TIER = {RegionLevel.NATION.value: UserTier.NATIONAL.value}  # other levels share their name
_REGULATOR_LEVELS = (GuarantorLevel.PROVINCE.value, GuarantorLevel.CITY.value, GuarantorLevel.COUNTY.value)
_ENTERPRISE = GuarantorLevel.ENTERPRISE.value
# Plain strings: enum attribute access is measurable in a million-row loop.
_CITY, _COUNTY = GuarantorLevel.CITY.value, GuarantorLevel.COUNTY.value
_XPCC, _BODY_CITY, _BODY_COUNTY = (SupervisoryBody.XPCC.value, SupervisoryBody.CITY.value,
                                   SupervisoryBody.COUNTY.value)
_COMBINED = DevelopmentMethod.COMBINED.value
_TIER_ENTERPRISE = UserTier.ENTERPRISE.value
# The demo dataset is the registry as imported: its dates say when each fact was recorded
# before the import, but no change was made through the service, so every mine is at its
# first version with an empty history (docs/decisions.md, "Writes").
_IMPORTED_VERSION = 1


@dataclass
class Batch:
    mines: list[tuple] = field(default_factory=list)
    accounts: list[tuple] = field(default_factory=list)
    guarantors: list[tuple] = field(default_factory=list)
    located: int = 0


@dataclass(frozen=True)
class _County:
    code: str
    name: str
    short: str
    province: str
    city: str | None
    xpcc: bool
    geo: tuple[float, ...]  # lng, lat, lng_min, lat_min, lng_max, lat_max


class DemoGenerator:
    def __init__(self, *, mines: int, seed: int, password_hash: str, stamp: Stamp) -> None:
        if mines < 0:
            raise ValueError("the number of mines must not be negative")
        self.n, self.seed, self.hash, self.stamp = mines, seed, password_hash, stamp
        self.d = load_json("demo_distributions.json")
        self.people = People()
        self.w = self.people.w
        self.regions = {r["code"]: r for r in region_rows()}
        self.geo = load_json("province_geo.json")["provinces"]
        self.points = CountyPoints(seed)
        self.created_at = stamp(epoch(self.d["accounts"]["created_at"]))
        self._plan_regulator_accounts()
        self._plan_counties()
        self._plan_officials()
        self._prepare_draws()

    # ----------------------------------------------------------------- plans

    def _plan_regulator_accounts(self) -> None:
        per = self.d["accounts"]["per_region"]
        self.regulator_accounts: list[tuple] = []
        self.first_account: dict[str, int] = {}  # region -> id of its -001 account
        for code, region in self.regions.items():  # sorted by code, nation first
            level = region["level"]
            for number in range(1, per[level] + 1):
                account_id = len(self.regulator_accounts) + 1
                fills = level if number == 1 and level in _REGULATOR_LEVELS else None
                self.regulator_accounts.append((
                    account_id, f"{code}-{number:03d}", self.hash, _TIER.get(level, level), code,
                    None, fills, None, None, None, self.created_at,
                ))
                if number == 1:
                    self.first_account[code] = account_id
        # Mine accounts follow, so a mine's account id is this base + its id.
        self.mine_account_base = len(self.regulator_accounts)

    def _plan_counties(self) -> None:
        rng = random.Random(f"{self.seed}:counties")
        cfg, weights = self.d["counties"], self.d["provinces"]["weights"]
        by_province: dict[str, list[dict]] = {}
        for r in self.regions.values():
            if r["level"] == RegionLevel.COUNTY.value:
                by_province.setdefault(r["province_code"], []).append(r)
        pairs: list[tuple[str, float]] = []
        for province, counties in by_province.items():
            raw = []
            for c in counties:
                factor = cfg["district_factor"] if c["name"].endswith("区") else 1.0
                if c["code"].startswith(cfg["xpcc_prefix"]):
                    factor = cfg["xpcc_factor"]
                raw.append(factor * rng.lognormvariate(0.0, cfg["lognormal_sigma"]))
            share = weights.get(province, 0.0) / sum(raw)
            pairs += [(c["code"], x * share) for c, x in zip(counties, raw)]
        pick, r = Picker(pairs), rng.random
        counts = Counter(pick(r()) for _ in range(self.n))
        self.plan = sorted(counts.items())  # mine ids follow county code, then serial
        self.serial_width = max(4, len(str(max(counts.values(), default=0))))

    def _plan_officials(self) -> None:
        rng = random.Random(f"{self.seed}:officials")
        self.pools = self.people.official_pools(self.regions, self.d["guarantors"]["pool_size"], rng.random)

    def _prepare_draws(self) -> None:
        d, scale_table = self.d, load_scale_table()
        self.rng = random.Random(f"{self.seed}:mines")
        rows = {m["code"]: m for m in mineral_rows()}
        weights, rest = d["minerals"]["weights"], d["minerals"]["rest_total"]
        leaves = [m for m in rows.values() if m["level"] == 3]
        unknown = set(weights) - {m["name"] for m in leaves}
        if unknown:
            raise ValueError(f"demo_distributions.json names unknown minerals: {sorted(unknown)}")
        others = [m for m in leaves if m["name"] not in weights]
        pairs = []
        for m in leaves:
            row = scale_table[m["scale_row"]]
            group = rows[m["parent_code"]]
            word = self.w["mine_words"].get(m["name"], m["name"] + "矿")
            leaf = (m["code"], group["code"], group["parent_code"], row.large_min, row.medium_min, row.unit, word)
            pairs.append((leaf, weights.get(m["name"], rest / max(len(others), 1))))
        self.pick_leaf = Picker(pairs)
        self.pick_scale = Picker(list(d["scale"]["shares"].items()))
        self.pick_status = Picker(list(d["production_status"]["weights"].items()))
        self.pick_method = Picker(list(d["development_method"]["weights"].items()))
        self.pick_body = Picker(list(d["supervisory_body"]["weights"].items()))
        names = self.w["mine_name_patterns"]
        self.pick_pattern = Picker(list(zip(names["patterns"], names["weights"])))
        tl, loc, g = d["timeline"], d["location"], d["guarantors"]
        self.t_import = (epoch(tl["import_window"][0]), epoch(tl["import_window"][1]))
        self.t_end = epoch(tl["end"])
        self.loc_window = tuple(epoch(x) for x in loc["campaign_window"])
        self.g_window = tuple(epoch(x) for x in g["campaign_window"])

    def _county(self, code: str) -> _County:
        r = self.regions[code]
        return _County(code, r["name"], self.people.short_name(r["name"]), r["province_code"], r["city_code"],
                       code.startswith(self.d["supervisory_body"]["xpcc_prefix"]),
                       tuple(self.geo[r["province_code"]]))

    # ----------------------------------------------------------------- mines

    def batches(self, size: int = 50_000) -> Iterator[Batch]:
        """Mines with their accounts and guarantors, in id order, `size` mines at a time."""
        batch, mine_id = Batch(), 0
        for code, count in self.plan:
            county = self._county(code)
            for serial in range(1, count + 1):
                mine_id += 1
                self._mine(batch, mine_id, serial, county)
                if len(batch.mines) >= size:
                    yield batch
                    batch = Batch()
        if batch.mines:
            yield batch

    def _when(self, window: tuple[int, int], campaign_share: float, start: int) -> int:
        # Most changes land in the 2022 campaign window, the rest any time after it.
        r = self.rng.random
        if r() < campaign_share:
            return window[0] + int((window[1] - window[0]) * r())
        return max(start, window[1]) + int((self.t_end - max(start, window[1])) * r())

    def _mine(self, batch: Batch, mine_id: int, serial: int, c: _County) -> None:
        d, rng = self.d, self.rng
        r = rng.random
        leaf_code, group_code, category_code, large, medium, unit, word = self.pick_leaf(r())
        sc = d["scale"]
        drawn = self.pick_scale(r())
        if drawn == SMALL:  # log-uniform below the medium line
            capacity = medium * sc["small_floor"] ** (1.0 - r())
        elif drawn == MEDIUM:
            capacity = medium + (large - medium) * r()
        else:
            capacity = large * sc["large_ceiling"] ** r()
        capacity = max(round(capacity, 2), 0.01)
        scale = LARGE if capacity >= large else MEDIUM if capacity >= medium else SMALL
        note = None
        if r() < sc["override_share"]:
            stated = MEDIUM if scale != MEDIUM else (SMALL if r() < 0.5 else LARGE)
            note = choice(r, sc["override_notes"]).format(stated=_LABEL[stated], derived=_LABEL[scale])
            scale = stated

        dp = d["max_depth"]
        if r() < dp["deep_share_by_scale"][scale]:
            lo, hi = dp["deep_range"]
            depth = float(round(lo + (hi - lo) * r()))
        else:
            n = dp["normal"]
            depth = float(round(rng.triangular(n["low"], n["high"], n["mode"])))
        wk = d["workers_per_shift"]
        lo, hi = (wk["high_range_by_scale"][scale] if r() < wk["over_share_by_scale"][scale]
                  else wk["low_range"])
        workers = lo + int((hi - lo + 1) * r())

        status, method = self.pick_status(r()), self.pick_method(r())
        detail = choice(r, d["development_method"]["combined_details"]) if method == _COMBINED else None
        if c.xpcc:
            body = _XPCC
        else:
            body = self.pick_body(r())
            if body == _BODY_CITY and c.city is None:
                body = _BODY_COUNTY  # no city-level department above it

        principal = phone = None
        if r() >= d["principal"]["missing_share"]:
            principal, phone = self.people.person(r), self.people.phone(r)
        code = f"C{c.code}{serial:0{self.serial_width}d}"
        name = self.pick_pattern(r()).format(
            county=c.name, short=c.short, place=choice(r, self.w["places"]),
            brand=choice(r, self.w["brands"]), mine=word)

        t_import = self.t_import[0] + int((self.t_import[1] - self.t_import[0]) * r())
        latest = t_import
        lat = lng = datum = loc_at = inside = None
        loc = d["location"]
        if r() < loc["share"]:
            point = self.points.take(c.code)
            if point is not None:
                (lat, lng), inside = point, True
            else:  # no boundary known for the county: near the province's centre, as a guess
                x, y, x0, y0, x1, y1 = c.geo
                k = loc["jitter_sd_fraction"]
                lng = round(min(max(rng.gauss(x, (x1 - x0) * k), x0), x1), 6)
                lat = round(min(max(rng.gauss(y, (y1 - y0) * k), y0), y1), 6)
            datum = "GCJ02" if r() < loc["gcj02_share"] else "WGS84"
            t = self._when(self.loc_window, loc["campaign_share"], t_import)
            loc_at, latest = self.stamp(t), max(latest, t)
            batch.located += 1
        account_id = self.mine_account_base + mine_id
        g = d["guarantors"]
        if r() < g["share"]:
            chosen = [lv for lv in (*_REGULATOR_LEVELS, _ENTERPRISE)
                      if not (lv == _CITY and c.city is None) and r() < g["level_fill"][lv]]
            for level in chosen or [_COUNTY]:
                if level == _ENTERPRISE:
                    entered_by = account_id
                    if principal and r() < g["enterprise_is_principal_share"]:
                        person = (principal, choice(r, self.w["enterprise_positions"]), phone)
                    else:
                        person = (self.people.person(r), choice(r, self.w["enterprise_positions"]), self.people.phone(r))
                else:
                    region = {"PROVINCE": c.province, "CITY": c.city, "COUNTY": c.code}[level]
                    entered_by = self.first_account[region]
                    person = choice(r, self.pools[(level, region)])
                t = self._when(self.g_window, g["campaign_share"], t_import)
                latest = max(latest, t)
                batch.guarantors.append((mine_id, level, *person, self.stamp(t), entered_by))
        if r() < d["timeline"]["basic_update_share"]:
            t = self.t_import[1] + int((self.t_end - self.t_import[1]) * r())
            latest = max(latest, t)

        batch.mines.append((
            mine_id, code, name, c.province, c.city, c.code, leaf_code, group_code, category_code,
            scale, note, capacity, unit, method, detail, depth, workers, status, body,
            principal, phone, lat, lng, datum, inside, loc_at, self.stamp(latest), _IMPORTED_VERSION,
        ))
        batch.accounts.append((
            account_id, code, self.hash, _TIER_ENTERPRISE, c.code, mine_id,
            _ENTERPRISE, None, None, None, self.created_at,
        ))
