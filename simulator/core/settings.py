"""Settings, declared once.

Each setting has a name, a default, a parser and a help text. Values come from the
``MOESIM_<NAME>`` environment variable (read only by ``create_app`` and the CLI), and a
command-line flag overrides the environment. The README's settings table is checked
against this declaration by ``tests/test_docs.py``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .errors import ConfigError

ENV_PREFIX = "MOESIM_"
BUNDLED_FIXTURES = "bundled"
NO_FIXTURES = "none"
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
CLOCKS = ("system", "virtual")


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise ValueError(f"port out of range: {port}")
    return port


def _at_least_one(text: str) -> int:
    number = int(text)
    if number < 1:
        raise ValueError(f"must be 1 or more: {number}")
    return number


def _at_least_zero(text: str) -> float:
    number = float(text)
    if not number >= 0 or number == float("inf"):
        raise ValueError(f"must be a number 0 or more: {text!r}")
    return number


def _zone(text: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone: {text!r}") from None
    return text


def _one_of(*choices: str, lower: bool = True) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower() if lower else text.strip()
        if value not in choices:
            raise ValueError(f"{text!r} is not one of {', '.join(choices)}")
        return value
    return parse


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[str], Any]
    help: str
    choices: tuple[str, ...] = ()  # the values a choice setting takes (shown in --help)

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "127.0.0.1", str, "Interface `moesim serve` binds to."),
    Setting("port", 5055, _port, "Port `moesim serve` listens on (0 picks a free one)."),
    Setting("db", "moesim.db", str, "SQLite database file; created and migrated if missing."),
    Setting("fixtures", BUNDLED_FIXTURES, str,
            "Fixtures loaded into a new database: `bundled`, a directory, or `none`."),
    Setting("workspace_id", "MOESIMDEMO", str,
            "Workspace id (MoEngage app id): the Data API path segment and Basic-auth user."),
    Setting("data_api_key", "moesim-data-api-key", str,
            "Data API key: the Basic-auth password of the Data API."),
    Setting("report_api_key", "", str,
            "Campaign-report API key of the stats/search APIs (empty: the Data API key)."),
    Setting("app_timezone", "UTC", _zone,
            "The app (workspace) time zone: segment date windows and stats dates are read in it."),
    Setting("seed", 0, int, "Seed for every random choice (sink `fail_rate`, ...), so runs repeat."),
    Setting("log_level", "info", _one_of(*LOG_LEVELS), "Log level of the server's console.",
            LOG_LEVELS),
    Setting("log_format", "text", _one_of(*LOG_FORMATS),
            "Console lines: `text` (coloured on a terminal) or `json` (one object a line, for CI).",
            LOG_FORMATS),
    Setting("clock", "system", _one_of(*CLOCKS),
            "`system` or `virtual` (stands still until `/_sim/clock/advance`); for a new database.",
            CLOCKS),
    Setting("start_time", "", str,
            "ISO time a new database's virtual clock starts at (default: the system time)."),
    Setting("asap_latency_s", 0.0, float,
            "Seconds an event-triggered ASAP send waits (MoEngage documents 30-60 s; 0 = at once)."),
    Setting("send_timeout_s", 5.0, float,
            "Timeout of one request to a partner endpoint, connect plus response (seconds)."),
    Setting("send_concurrency", 16, _at_least_one,
            "Requests a campaign keeps in flight at once (and at most sent and not recorded)."),
    Setting("send_ca_bundle", "", str,
            "PEM file of CA certificates trusted beside the system's, for a partner endpoint "
            "with its own TLS certificate (e.g. a local self-signed one)."),
    Setting("throttle_realtime", True, _bool,
            "In system time, pace campaign sends at their throttle (MoEngage: 60,000/min "
            "by default); false sends as fast as the transport goes."),
    Setting("send_retries", 0, int,
            "Retries of a send that got no response or a 5xx (MoEngage: none; 3 = its option)."),
    Setting("admin_token", "", str,
            "Token for `/api/`, `/_sim/` and pages (Bearer, or the Basic-auth password); "
            "required when `host` is not loopback (docs/security.md)."),
    Setting("snapshot_dir", "", str,
            "Folder that server-side snapshot paths must be in (empty: the database's folder)."),
    Setting("sink_max_records", 10_000, _at_least_one,
            "Requests each capture sink keeps, the oldest dropped first (`served` counts all)."),
    Setting("delivery_retention_days", 0.0, _at_least_zero,
            "Deliveries older than this (simulator clock) lose their logged request and "
            "response; counts and stats stay (0 keeps all)."),
)


class _SettingsBase:
    @classmethod
    def load(cls, environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None
             ) -> "Settings":
        """Defaults, then ``MOESIM_*`` variables, then explicit overrides (CLI flags)."""
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = environ.get(setting.env)
            if raw is None:
                values[setting.name] = setting.default
                continue
            try:
                values[setting.name] = setting.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{setting.env}: {exc}", path=setting.env) from None
        for name, value in (overrides or {}).items():
            if name not in values:
                raise ConfigError(f"unknown setting: {name}", path=name)
            if value is not None:
                values[name] = value
        return cls(**values)

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)

    def public(self) -> dict:
        """The settings safe to show: the Data API key is a secret."""
        shown = dataclasses.asdict(self)
        shown["data_api_key"] = "********"
        shown["report_api_key"] = "********"
        shown["admin_token"] = "********" if self.admin_token else ""
        return shown


# The dataclass is generated from SETTINGS so that each setting is declared exactly once.
Settings = dataclasses.make_dataclass(
    "Settings",
    [(s.name, type(s.default), dataclasses.field(default=s.default)) for s in SETTINGS],
    bases=(_SettingsBase,),
    frozen=True,
)
Settings.__doc__ = "Resolved settings; build with ``Settings.load(os.environ, flags)``."
Settings.__module__ = __name__
