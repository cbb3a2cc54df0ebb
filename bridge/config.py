"""The TOML configuration: store, systems and jobs.

Loading does three things before validation: it reads the file (TOML errors name the line), replaces
``${ENV_VAR}`` references in string values, and turns ``<key>_file = "path"`` into ``<key>`` with the file's
content (stripped). Secrets are therefore never required inline. Validation errors name the file, the key path
and what is expected; unknown keys are errors. Every secret found is registered for redaction.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from adapters.base import SystemSettings
from adapters.registry import KINDS, SYNCABLE_KINDS, settings_class
from bridge.ci.settings import CISettings
from bridge.errors import ConfigError
from bridge.model import Entity
from bridge.redact import register_basic_auth, register_secret

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_URL_USERINFO = re.compile(r"(://[^/@:\s]*:)[^@/\s]*@")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")

Direction = Literal["both", "left-to-right", "right-to-left"]
ConflictPolicy = Literal["manual", "left-wins", "right-wins", "newest-wins"]
DeletionPolicy = Literal["propagate", "unlink"]


def parse_duration(value: str | int | float) -> timedelta:
    """``90``, ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"`` -> timedelta."""
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    m = _DURATION.match(value)
    if not m:
        raise ValueError(f"expected a duration such as 90s, 15m, 2h or 1d, got {value!r}")
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2) or "s"]
    return timedelta(seconds=float(m.group(1)) * unit)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreConfig(_Strict):
    url: str = Field("sqlite:///testplan-bridge.db", description="SQLAlchemy URL of the mapping store")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("expected sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        return value


class DaemonConfig(_Strict):
    http_host: str = Field("127.0.0.1", description="Address of /healthz and /metrics (loopback by default)")
    http_port: int | None = Field(None, ge=0, le=65535, description="Port of /healthz and /metrics; unset: off")
    max_backoff: str = Field("1h", description="Longest pause after repeated failures of a job")
    unhealthy_after_failures: int = Field(
        3, ge=1, description="/healthz answers 503 once a job has failed this many runs in a row"
    )
    unhealthy_after_periods: float = Field(
        3, gt=0, description="/healthz answers 503 once a job has not succeeded for this many schedule periods"
    )

    @field_validator("max_backoff")
    @classmethod
    def _backoff(cls, value: str) -> str:
        parse_duration(value)
        return value


class UiConfig(_Strict):
    """The review pages (``testplan-bridge ui``, and the daemon's HTTP port)."""

    token: SecretStr | None = Field(
        None,
        description="Required to serve the pages on an address other than loopback; every request then carries "
        "it (set token_file or ${VAR} to keep it out of the file)",
    )
    #: the name recorded as who decided a conflict from the pages (the form may give another)
    resolved_by: str = Field("review page", max_length=200)


class LoggingConfig(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "plain"] = "auto"


class Scope(_Strict):
    folders: list[str] = Field(default_factory=list, description="Only cases under these folder paths")
    plan_names: list[str] = Field(default_factory=list, description="Only plans matching these glob patterns")


class Job(_Strict):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    left: str
    right: str
    direction: Direction = "both"
    entities: list[Entity] = Field(default_factory=lambda: [Entity.FOLDER, Entity.CASE, Entity.PLAN, Entity.RESULT])
    scope: Scope = Field(default_factory=lambda: Scope())
    conflict_policy: ConflictPolicy = "manual"
    newest_wins_tolerance: str = Field("5m", description="Timestamps closer than this count as simultaneous")
    field_owners: dict[str, Literal["left", "right"]] = Field(default_factory=dict)
    deletions: DeletionPolicy = "unlink"
    mass_delete_threshold: float = Field(0.25, ge=0, le=1)
    schedule: str | None = Field(None, description="Cron expression (5 fields) or an interval such as 15m")
    value_maps: dict[str, dict[str, dict[str, str]]] = Field(
        default_factory=dict, description="Per-system value map overrides: value_maps.<system>.<map>"
    )
    custom_fields: dict[str, str] = Field(
        default_factory=dict, description="Custom field names: left name = right name"
    )
    perftest: str | None = Field(None, description="A perftest system that keeps one task per synced plan")
    full_read_every: str | None = Field(
        None, description="Read changed cases only (where the system can), and everything this often"
    )

    @field_validator("newest_wins_tolerance", "full_read_every")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if _DURATION.match(value):
            if parse_duration(value).total_seconds() < 1:
                raise ValueError("an interval must be at least 1s")
            return value
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"expected a 5-field cron expression or an interval such as 15m: {exc}") from None
        return value

    @field_validator("field_owners")
    @classmethod
    def _owners(cls, value: dict[str, str]) -> dict[str, str]:
        from bridge.model import Case, Plan

        known = set(Case.content_fields()) | set(Plan.content_fields()) | {"status"}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; fields are: {', '.join(sorted(known))}")
        return value

    @model_validator(mode="after")
    def _sides(self) -> Job:
        if self.left == self.right:
            raise ValueError("left and right must be two different systems")
        return self

    def tolerance(self) -> timedelta:
        return parse_duration(self.newest_wins_tolerance)


class Config(_Strict):
    store: StoreConfig = Field(default_factory=lambda: StoreConfig())
    logging: LoggingConfig = Field(default_factory=lambda: LoggingConfig())
    daemon: DaemonConfig = Field(default_factory=lambda: DaemonConfig())
    systems: dict[str, SystemSettings] = Field(default_factory=dict)
    jobs: list[Job] = Field(default_factory=list)
    ci: CISettings = Field(default_factory=lambda: CISettings())
    ui: UiConfig = Field(default_factory=lambda: UiConfig())
    #: where the config was read from (not a TOML key)
    source: str = Field("<memory>", exclude=True)

    def job(self, name: str) -> Job:
        for job in self.jobs:
            if job.name == name:
                return job
        raise ConfigError(
            f"{self.source}: no job named {name!r}; jobs are: {', '.join(j.name for j in self.jobs) or '(none)'}"
        )

    def system(self, name: str) -> SystemSettings:
        try:
            return self.systems[name]
        except KeyError:
            raise ConfigError(
                f"{self.source}: no system named {name!r}; systems are: {', '.join(self.systems) or '(none)'}",
                hint="Add a [systems.NAME] table or use one of the names above.",
            ) from None


# ------------------------------------------------------------------------------------------------ loading


def load_config(path: str | Path, *, environ: dict[str, str] | None = None) -> Config:
    """Read, resolve and validate a config file; raise ConfigError with one clear paragraph."""
    path = Path(path)
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: file not found", hint="Pass --config with the path of your TOML file.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from None
    return config_from_dict(raw, source=source, base_dir=path.parent, environ=environ)


def config_from_dict(
    raw: dict[str, Any],
    *,
    source: str = "<memory>",
    base_dir: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    env = os.environ if environ is None else environ
    resolved = _resolve(raw, (), source, base_dir or Path.cwd(), env)
    systems_raw = resolved.pop("systems", {}) or {}
    if not isinstance(systems_raw, dict):
        raise ConfigError(f"{source}: systems: expected a table of [systems.NAME] tables")
    systems: dict[str, SystemSettings] = {}
    for name, table in systems_raw.items():
        where = f"systems.{name}"
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: {where}: expected a table")
        kind = table.get("kind")
        if kind not in KINDS:
            raise ConfigError(
                f"{source}: {where}.kind: expected one of {', '.join(KINDS)}"
                + (f" (got {kind!r})" if kind is not None else " (missing)")
            )
        try:
            systems[name] = settings_class(kind).model_validate(table)
        except ValidationError as exc:
            raise ConfigError(_explain(exc, source, where)) from None
        _check_url(systems[name].url, f"{source}: {where}.url")
    if "source" in resolved:  # a field of Config, but not a TOML key
        raise ConfigError(f"{source}: source: unknown key (check the spelling; config.example.toml lists every option)")
    try:
        config = Config.model_validate({**resolved, "systems": {}, "source": source})
    except ValidationError as exc:
        raise ConfigError(_explain(exc, source, "")) from None
    config.systems = systems
    _cross_check(config)
    db_password = urlsplit(config.store.url).password
    if db_password:
        register_secret(unquote(db_password))
    if config.ui.token is not None:
        register_secret(config.ui.token.get_secret_value())
    for system in systems.values():
        for secret in system.secrets():
            register_secret(secret)
        user = getattr(system, "user", None) or getattr(system, "user_id", None)
        if user:
            for secret in system.secrets():
                register_basic_auth(user, secret)
    return config


def _check_url(url: str, where: str) -> None:
    """A system's url must be http(s) with a host: anything else would only fail at the first request."""
    parts = urlsplit(url.strip())
    problem = None
    if parts.scheme.lower() not in ("http", "https"):
        problem = "expected an http:// or https:// URL"
    else:
        try:
            host, _port = parts.hostname, parts.port  # a port that is not a number raises here
        except ValueError as exc:
            host, problem = None, f"the port is not valid ({exc})"
        if problem is None and not host:
            problem = "the URL has no host name"
    if problem is not None:
        shown = _URL_USERINFO.sub(r"\1***@", url)
        raise ConfigError(
            f"{where}: {problem} (got {shown!r})",
            hint="Write the system's address in full, e.g. https://example.testrail.io or http://127.0.0.1:8080/api.",
        )


def _cross_check(config: Config) -> None:
    src = config.source
    seen: set[str] = set()
    for i, job in enumerate(config.jobs):
        where = f"jobs[{i}] ({job.name})"
        if job.name in seen:
            raise ConfigError(f"{src}: {where}.name: job names must be unique; {job.name!r} is used twice")
        seen.add(job.name)
        for side in ("left", "right"):
            name = getattr(job, side)
            if name not in config.systems:
                raise ConfigError(
                    f"{src}: {where}.{side}: no system named {name!r}; "
                    f"define [systems.{name}] or use one of: {', '.join(config.systems) or '(none)'}"
                )
            if config.systems[name].kind not in SYNCABLE_KINDS:
                raise ConfigError(
                    f"{src}: {where}.{side}: system {name!r} is a {config.systems[name].kind} system; "
                    f"sync jobs connect {', '.join(SYNCABLE_KINDS)} systems"
                )
        for system_name in job.value_maps:
            if system_name not in (job.left, job.right):
                raise ConfigError(
                    f"{src}: {where}.value_maps.{system_name}: the job only connects {job.left} and {job.right}"
                )
        if job.perftest is not None:
            if job.perftest not in config.systems or config.systems[job.perftest].kind != "perftest":
                raise ConfigError(f"{src}: {where}.perftest: expected the name of a perftest system")
        if job.conflict_policy == "newest-wins" and job.field_owners:
            pass  # owners decide their fields; newest-wins the rest
    for name in config.ci.case_ids:
        if name not in config.systems or config.systems[name].kind not in SYNCABLE_KINDS:
            raise ConfigError(f"{src}: ci.case_ids.{name}: expected the name of a {', '.join(SYNCABLE_KINDS)} system")
    from mappings.valuemaps import load_value_maps

    for name, system in config.systems.items():
        load_value_maps(system.kind, system.value_maps, source=f"{src}: systems.{name}.value_maps")
    for i, job in enumerate(config.jobs):
        for system_name, maps in job.value_maps.items():
            load_value_maps(config.systems[system_name].kind, maps, source=f"{src}: jobs[{i}].value_maps.{system_name}")


def _resolve(value: Any, path: tuple[str, ...], source: str, base_dir: Path, env: Any) -> Any:
    """Replace ${VAR} references and *_file keys, naming the key path in every error."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and key.endswith("_file") and isinstance(item, str) and key != "record_cassette":
                target = key[: -len("_file")]
                if target in value:
                    raise ConfigError(f"{source}: {_dotted(path + (key,))}: set {target} or {key}, not both")
                file_path = Path(_substitute(item, path + (key,), source, env)).expanduser()
                if not file_path.is_absolute():
                    file_path = base_dir / file_path
                try:
                    out[target] = file_path.read_text("utf-8").strip()
                except (OSError, UnicodeDecodeError) as exc:
                    reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                    raise ConfigError(
                        f"{source}: {_dotted(path + (key,))}: cannot read secret file {file_path}: {reason}"
                    ) from None
                if not out[target]:
                    # an empty credential would only fail later, at the first request, far from its cause
                    raise ConfigError(f"{source}: {_dotted(path + (key,))}: secret file {file_path} is empty")
                continue
            out[key] = _resolve(item, path + (str(key),), source, base_dir, env)
        return out
    if isinstance(value, list):
        return [_resolve(item, path + (f"[{i}]",), source, base_dir, env) for i, item in enumerate(value)]
    if isinstance(value, str):
        return _substitute(value, path, source, env)
    return value


def _substitute(text: str, path: tuple[str, ...], source: str, env: Any) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env:
            raise ConfigError(
                f"{source}: {_dotted(path)}: environment variable {name} is not set",
                hint=f"Export {name} before running, or use a *_file key that points to a file holding the value.",
            )
        return str(env[name])

    return _ENV_REF.sub(repl, text)


def _dotted(path: tuple[str, ...]) -> str:
    out = ""
    for part in path:
        out += part if part.startswith("[") or not out else f".{part}"
    return out


def _explain(exc: ValidationError, source: str, prefix: str) -> str:
    lines = []
    for err in exc.errors():
        parts: list[str] = [prefix] if prefix else []
        for loc in err["loc"]:
            if isinstance(loc, int):
                parts.append(f"[{loc}]")
            else:
                parts.append(str(loc))
        where = _dotted(tuple(p for p in parts if p))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; config.example.toml lists every option)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        elif err["type"] in ("literal_error", "enum"):
            msg = msg.replace("Input should be", "expected")
        got = err.get("input")
        if err["type"] not in ("missing", "extra_forbidden") and not isinstance(got, (dict, list)) and got is not None:
            if not _looks_secret(where.rsplit(".", 1)[-1]):
                # a database URL may carry a password: never echo the user-info part
                shown = _URL_USERINFO.sub(r"\1***@", got) if isinstance(got, str) else got
                msg += f" (got {shown!r})"
        lines.append(f"{source}: {where or '(top level)'}: {msg}")
    return "\n".join(lines)


def _looks_secret(key: str) -> bool:
    """Keys whose value must not be echoed in an error (the secrets are not registered for redaction yet)."""
    key = key.lower()
    return key in ("ak", "sk") or any(word in key for word in ("key", "secret", "password", "token"))
