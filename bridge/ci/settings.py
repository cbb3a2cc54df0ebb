"""The ``[ci]`` table of the config: how CI pushes find case ids and automation keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bridge.ci.ids import pattern_error
from bridge.ci.matching import DEFAULT_KEY_FORMAT, key_format_error


class CaseIdSettings(BaseModel):
    """``[ci.case_ids.<system>]``: how the case ids of that system are written in tests (unset: defaults)."""

    model_config = ConfigDict(extra="forbid")

    patterns: list[str] | None = Field(None, description="Regexes finding an id in test names; group 1 is the id")
    properties: list[str] | None = Field(None, description="Test properties holding ids of this system")

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, value: list[str] | None) -> list[str] | None:
        for pattern in value or []:
            problem = pattern_error(pattern)
            if problem:
                raise ValueError(f"{pattern!r}: {problem}")
        return value


class CISettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_ids: dict[str, CaseIdSettings] = Field(default_factory=dict, description="Per system: its id patterns")
    automation_key: str = Field(DEFAULT_KEY_FORMAT, description="Automation key of a test: {classname}, {name}, ...")

    @field_validator("automation_key")
    @classmethod
    def _key(cls, value: str) -> str:
        problem = key_format_error(value)
        if problem:
            raise ValueError(problem)
        return value
