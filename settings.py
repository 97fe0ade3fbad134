"""One settings object for the whole service, read from the environment (and .env)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = f"sqlite+aiosqlite:///{ROOT / 'data' / 'minegraph.sqlite3'}"
    host: str = "127.0.0.1"
    port: int = 8000
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
    # GraphQL abuse limits (see docs/security.md).
    max_query_depth: int = 12
    max_query_tokens: int = 3000
    max_query_aliases: int = 30
    max_query_cost: int = 50_000  # objects a query may return, estimated before it runs
    max_body_bytes: int = 100_000
    request_timeout_s: float = 15.0
    # Answers kept per process for repeated queries (0 turns the cache off).
    response_cache_mb: int = 128
    log_level: str = "INFO"

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
