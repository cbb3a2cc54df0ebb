from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from adapters.base import SystemSettings


class TestRailSettings(SystemSettings):
    """``kind = "testrail"``: HTTP Basic auth with the user's e-mail and an API key (or password)."""

    __test__ = False  # not a pytest test class despite the name

    kind: Literal["testrail"] = "testrail"
    user: str = Field(description="TestRail user (e-mail)")
    api_key: SecretStr | None = Field(None, description="API key (preferred over password)")
    password: SecretStr | None = None
    project: str | int = Field(description="Project id or exact name")
    suite_id: int | None = Field(None, description="Suite to sync; required for multi-suite projects")

    @model_validator(mode="after")
    def _one_secret(self) -> TestRailSettings:
        if self.api_key is None and self.password is None:
            raise ValueError("set api_key (or password) for TestRail")
        return self

    def secret(self) -> str:
        value = self.api_key or self.password
        assert value is not None
        return value.get_secret_value()
