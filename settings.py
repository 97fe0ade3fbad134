"""One settings object for the whole service, read from the environment (and .env)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = f"sqlite+aiosqlite:///{ROOT / 'data' / 'minegraph.sqlite3'}"
    host: str = "127.0.0.1"
    port: int = 8000
    # How long `serve` keeps an idle client connection open. Longer than the clients' and load
    # balancers' own idle limits (httpx 5 s, typical balancers 60 s): the side that closes first
    # must be the client, or a request sent just as the server closes is lost in flight.
    keep_alive_s: int = Field(75, ge=1)
    # MINEGRAPH_ENV=production hides GraphiQL, introspection and field suggestions,
    # and accepts only the persisted operations of schema/operations/.
    minegraph_env: Literal["development", "production"] = "development"
    # Signs pagination cursors; when unset, one is generated once and kept
    # beside an SQLite database (several instances must share an explicit one).
    secret_key: str = ""
    demo_password: str = "Minegraph@2022"
    # Sessions end after this long without use, and in any case this long after login.
    token_idle_hours: float = 72.0
    token_ttl_hours: float = 720.0
    password_min_length: int = 10
    password_min_classes: int = 3
    # WeChat mini-program code exchange (jscode2session).
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_timeout_s: float = 5.0
    # A location farther than this from its registered county is flagged.
    county_tolerance_km: float = 3.0
    # Key-supervision thresholds: the home page counts strictly "greater than".
    workers_threshold: int = 30
    depth_threshold_m: float = 800.0
    # Time zone that DateTime values are presented in (stored as UTC).
    timezone: str = "Asia/Shanghai"
    max_page_size: int = 100
    # How long an SQLite write waits for another process's write lock before failing.
    sqlite_busy_timeout_ms: int = 30_000
    # FULL: every acknowledged write survives a power cut (one fsync per commit);
    # NORMAL: faster commits that survive a crash of the service but not of the machine.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    # How long to wait for a new PostgreSQL connection before answering "unavailable".
    database_connect_timeout_s: float = Field(5.0, gt=0)
    # PostgreSQL connections per process for queries and writes: a pool this big, plus this many
    # more in a burst (closed again after it). The bearer-token reads have 8 of their own.
    database_pool_size: int = Field(5, ge=1)
    database_pool_overflow: int = Field(10, ge=0)
    # GraphQL abuse limits (see docs/security.md).
    max_query_depth: int = 12
    max_query_tokens: int = 3000
    max_query_aliases: int = 30
    max_query_fields: int = 5_000  # fields of a document once its fragments are written out
    max_query_cost: int = 50_000  # objects a query may return, estimated before it runs
    max_body_bytes: int = 100_000
    # A spreadsheet sent to POST /import or importMines (multipart); only those requests may be this big.
    import_max_bytes: int = Field(20 * 1024 * 1024, ge=1)
    request_timeout_s: float = 15.0
    # Answers kept per process for repeated queries (0 turns the cache off).
    response_cache_mb: int = 128
    # The fast executor (execution/fast_execution.py) answers the large documents' fields without
    # graphql-core's per-field machinery; off (FAST_EXECUTION=false), every field takes the normal
    # path. The answers are the same byte for byte (tests/api/test_fast_execution_differential.py).
    fast_execution: bool = True
    log_level: str = "INFO"

    # --- Authentication attacks: lockouts, throttling, audit retention (docs/security.md) ---
    # This many failed logins for one username from one client address within the window lock
    # that pair for the next step of LOGIN_LOCKOUT_MINUTES ...
    login_max_failures: int = Field(5, ge=1)
    # ... and this many from all addresses together lock the username everywhere, except
    # from an address it logged in from within LOGIN_KNOWN_ADDRESS_DAYS.
    login_account_max_failures: int = Field(20, ge=1)
    login_failure_window_minutes: float = Field(15.0, gt=0)
    # Escalating lock durations ("1,5,15"); the last step is the cap, and no step may exceed
    # 60 minutes: a lock always ends, so an attacker cannot lock an account out for good.
    login_lockout_minutes: Annotated[list[float], NoDecode] = [1.0, 5.0, 15.0]
    login_known_address_days: float = Field(30.0, ge=0)
    # Token buckets per client address, per process: every login/wechatLogin attempt, and the
    # failed ones (a burst, then so many per minute).
    throttle_login_per_minute: float = Field(30.0, gt=0)
    throttle_login_burst: int = Field(30, ge=1)
    throttle_failures_per_minute: float = Field(6.0, gt=0)
    throttle_failures_burst: int = Field(10, ge=1)
    # Reverse proxies whose X-Forwarded-For is believed ("10.0.0.5,192.168.0.0/16"); empty: none,
    # the client address is the TCP peer.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # Audit records are kept this long (days), at least 180; `minegraph audit purge` removes older ones.
    audit_retention_days: int = 365

    @field_validator("login_lockout_minutes", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("login_lockout_minutes")
    @classmethod
    def _lockout_steps(cls, steps: list[float]) -> list[float]:
        if not steps or any(not 0 < step <= 60 for step in steps):
            raise ValueError("LOGIN_LOCKOUT_MINUTES: give one or more durations in minutes, each above 0 and at "
                             f"most 60, e.g. 1,5,15 (got {steps}); a lock must always end soon")
        return steps

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, entries: list[str]) -> list[str]:
        import ipaddress

        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an IP address or network "
                                 "(e.g. 10.0.0.5 or 10.0.0.0/8)") from None
        return entries

    @field_validator("audit_retention_days")
    @classmethod
    def _retention_floor(cls, days: int) -> int:
        if days < 180:
            raise ValueError(f"AUDIT_RETENTION_DAYS must be at least 180 (audit records are kept for at least "
                             f"180 days); got {days}")
        return days

    @property
    def production(self) -> bool:
        return self.minegraph_env == "production"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir() / ".secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def data_dir(self) -> Path:
        if self.database_url.startswith("sqlite") and ":///" in self.database_url:
            db_path = self.database_url.split(":///", 1)[1]
            if db_path and db_path != ":memory:":
                return Path(db_path).resolve().parent
        return ROOT / "data"


@lru_cache
def get_settings() -> Settings:
    return Settings()
