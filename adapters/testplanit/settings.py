from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from adapters.base import SystemSettings


class TestPlanItSettings(SystemSettings):
    """``kind = "testplanit"``: API token auth (``Bearer tpi_...``)."""

    __test__ = False

    kind: Literal["testplanit"] = "testplanit"
    token: SecretStr = Field(description="API token, tpi_...")
    project_id: int | None = Field(None, description="Project id")
    project: str | None = Field(None, description="Project name (when project_id is not given)")

    @model_validator(mode="after")
    def _project(self) -> TestPlanItSettings:
        if self.project_id is None and not self.project:
            raise ValueError("set project_id or project for TestPlanIt")
        return self
