from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from adapters.base import SystemSettings

#: the normalized case fields that live in template case fields on TestPlanIt
TEMPLATE_CASE_FIELDS = ("description", "preconditions", "priority", "type")


class TestPlanItSettings(SystemSettings):
    """``kind = "testplanit"``: API token auth (``Bearer tpi_...``)."""

    __test__ = False

    kind: Literal["testplanit"] = "testplanit"
    token: SecretStr = Field(description="API token, tpi_...")
    project_id: int | None = Field(None, description="Project id")
    project: str | None = Field(None, description="Project name (when project_id is not given)")
    template: str | None = Field(
        None,
        description="Case template (name or id) among those assigned to the project; default: the global "
        "default template when assigned, else the first assigned",
    )
    case_fields: dict[str, str] = Field(
        default_factory=dict,
        description="Template field (system or display name) holding description, preconditions, priority, "
        "type; default: the field of that name",
    )
    unfiled_folder: str = Field(
        "Unfiled", min_length=1, description="Top-level folder for cases that have no folder (TestPlanIt needs one)"
    )

    @field_validator("case_fields")
    @classmethod
    def _case_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(TEMPLATE_CASE_FIELDS))
        if unknown:
            raise ValueError(
                f"case_fields: {', '.join(unknown)} not a template field of the bridge; use one of "
                f"{', '.join(TEMPLATE_CASE_FIELDS)} (custom fields are mapped by the job's custom_fields)"
            )
        return value

    @model_validator(mode="after")
    def _project(self) -> TestPlanItSettings:
        if self.project_id is None and not self.project:
            raise ValueError("set project_id or project for TestPlanIt")
        return self
