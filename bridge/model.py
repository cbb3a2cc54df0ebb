"""The normalized model every adapter reads into and writes from.

Records carry their native id on the system they came from (``id``) and, when the bridge created them,
the bridge's marker (``marker``). Neither is *content*: content is what the sync compares and merges, field
by field, through :meth:`Record.content` and :meth:`Record.field_hashes`.

Text fields hold canonical text (see :mod:`bridge.text`); validators fold white space so that content read
from two systems compares equal when a person would say it is the same.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bridge.text import content_hash, normalize_whitespace


class Entity(StrEnum):
    FOLDER = "folder"
    CASE = "case"
    PLAN = "plan"
    RESULT = "result"


class Status(StrEnum):
    """Normalized result status. Each system's native statuses map onto these (mappings/defaults)."""

    UNTESTED = "untested"
    PASSED = "passed"
    FAILED = "failed"
    BLOCKED = "blocked"
    RETEST = "retest"
    SKIPPED = "skipped"
    ERROR = "error"
    IN_PROGRESS = "in_progress"
    STOPPED = "stopped"


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    LOWEST = "lowest"


class CaseType(StrEnum):
    FUNCTIONAL = "functional"
    ACCEPTANCE = "acceptance"
    REGRESSION = "regression"
    SMOKE = "smoke"
    AUTOMATED = "automated"
    PERFORMANCE = "performance"
    SECURITY = "security"
    USABILITY = "usability"
    COMPATIBILITY = "compatibility"
    OTHER = "other"


class PlanState(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"


CustomValue = str | int | float | bool | list[str] | None


class Record(BaseModel):
    """Base of every normalized record: identity (not content) plus content helpers."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    #: fields that identify or annotate a record but are not compared or merged
    IDENTITY_FIELDS: ClassVar[frozenset[str]] = frozenset({"id", "marker", "updated_at", "created_at"})

    id: str | None = None
    marker: str | None = None
    updated_at: datetime | None = None
    created_at: datetime | None = None

    @classmethod
    def content_fields(cls) -> tuple[str, ...]:
        return _content_fields(cls)[0]

    def content(self) -> dict[str, Any]:
        """The record's content as plain JSON-able values, keyed by field name."""
        return self.model_dump(mode="json", include=_content_fields(self.__class__)[1])

    def field_hashes(self) -> dict[str, str]:
        """A stable hash per content field (the same content from any system hashes equal)."""
        return {name: content_hash(value) for name, value in self.content().items()}

    def content_hash(self) -> str:
        return content_hash(self.content())


@functools.cache
def _content_fields(cls: type[Record]) -> tuple[tuple[str, ...], set[str]]:
    """A record class's content fields, and the same as the set model_dump includes (never changed). Worked out
    once per class (a class's fields are fixed): filtering them took 5 us, as long as the dump itself, and every
    view and hash of a record asks for them."""
    fields = tuple(name for name in cls.model_fields if name not in cls.IDENTITY_FIELDS)
    return fields, set(fields)


def _clean_text(value: Any) -> Any:
    return normalize_whitespace(value) if isinstance(value, str) or value is None else value


def _clean_line(value: Any) -> Any:
    """Names and titles are one line on every system: a line break read from one would not survive the other."""
    value = _clean_text(value)
    return " ".join(value.split("\n")).replace("  ", " ").strip() if isinstance(value, str) else value


def _clean_custom(values: Any) -> Any:
    """Custom field values: text folded like every other text field (lists keep their order)."""
    if not isinstance(values, dict):
        return values
    out: dict[Any, Any] = {}
    for key, value in values.items():
        if isinstance(value, str):
            value = normalize_whitespace(value)
        elif isinstance(value, (list, tuple)):
            value = [normalize_whitespace(v) if isinstance(v, str) else v for v in value]
        out[key] = value
    return out


def _clean_list(values: Any) -> Any:
    """Tags and references: trimmed, empty ones dropped, duplicates removed, sorted (order is not meaningful)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [v for v in values.split(",")]
    if isinstance(values, (list, tuple, set, frozenset)):
        cleaned = {normalize_whitespace(str(v)) for v in values}
        return sorted(v for v in cleaned if v)
    return values


class Folder(Record):
    """A folder (TestRail section, TestPlanIt repository folder, CodeArts module) as its path of names."""

    path: tuple[str, ...]

    @field_validator("path", mode="before")
    @classmethod
    def _path(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [p for p in value.split("/")]
        if isinstance(value, (list, tuple)):
            # each part folded once (every case read validates its folder path)
            parts = [normalize_whitespace(p if p.__class__ is str else str(p)) for p in value]
            return tuple(p for p in parts if p)
        return value


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = ""
    expected: str = ""

    _norm = field_validator("action", "expected", mode="before")(classmethod(lambda cls, v: _clean_text(v)))


class Case(Record):
    folder: tuple[str, ...] = ()
    title: str
    description: str = ""
    preconditions: str = ""
    steps: list[Step] = Field(default_factory=list)
    priority: Priority | None = None
    type: CaseType | None = None
    tags: list[str] = Field(default_factory=list)
    automation_key: str | None = None
    requirements: list[str] = Field(default_factory=list)
    estimate_seconds: int | None = None
    custom: dict[str, CustomValue] = Field(default_factory=dict)

    _title = field_validator("title", mode="before")(classmethod(lambda cls, v: _clean_line(v)))
    _text = field_validator("description", "preconditions", mode="before")(classmethod(lambda cls, v: _clean_text(v)))
    _custom = field_validator("custom", mode="before")(classmethod(lambda cls, v: _clean_custom(v)))
    _lists = field_validator("tags", "requirements", mode="before")(classmethod(lambda cls, v: _clean_list(v)))
    _folder = field_validator("folder", mode="before")(classmethod(lambda cls, v: Folder._path(v)))

    @field_validator("automation_key", mode="before")
    @classmethod
    def _automation_key(cls, value: Any) -> Any:
        if value is None:
            return None
        value = normalize_whitespace(str(value))
        return value or None


class PlanRun(BaseModel):
    """One run inside a plan (a TestRail plan entry run; the single implicit run elsewhere)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    configuration: list[str] = Field(default_factory=list)
    #: native ids, on the plan's own system, of the cases this run contains (sorted)
    case_ids: list[str] = Field(default_factory=list)
    id: str | None = None

    _lists = field_validator("configuration", "case_ids", mode="before")(classmethod(lambda cls, v: _clean_list(v)))


class Plan(Record):
    name: str
    description: str = ""
    start_date: date | None = None
    end_date: date | None = None
    owner: str | None = None
    milestone: str | None = None
    state: PlanState = PlanState.ACTIVE
    runs: list[PlanRun] = Field(default_factory=list)

    _name = field_validator("name", mode="before")(classmethod(lambda cls, v: _clean_line(v)))
    _text = field_validator("description", mode="before")(classmethod(lambda cls, v: _clean_text(v)))

    def case_ids(self) -> set[str]:
        return {cid for run in self.runs for cid in run.case_ids}


class Result(Record):
    """A result is an event: it is copied once, never merged."""

    case_id: str
    plan_id: str | None = None
    run_id: str | None = None
    status: Status
    comment: str = ""
    elapsed_seconds: float | None = None
    defects: list[str] = Field(default_factory=list)
    executed_at: datetime | None = None
    executed_by: str | None = None

    _text = field_validator("comment", mode="before")(classmethod(lambda cls, v: _clean_text(v)))
    _lists = field_validator("defects", mode="before")(classmethod(lambda cls, v: _clean_list(v)))


class Requirement(Record):
    key: str
    title: str = ""
    url: str | None = None


RECORD_TYPES: dict[Entity, type[Record]] = {
    Entity.FOLDER: Folder,
    Entity.CASE: Case,
    Entity.PLAN: Plan,
    Entity.RESULT: Result,
}
