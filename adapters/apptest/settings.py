from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from adapters.base import SystemSettings


class AppTestSettings(SystemSettings):
    """``kind = "apptest"``: apptest.ai CI API with HTTP Basic ``user_id:access_key``.

    The test-set options are defaults for ``ci apptest`` (its options override them); the limits are the
    vendor's (checked again by the client before anything is uploaded).
    """

    kind: Literal["apptest"] = "apptest"
    url: str = "https://api.apptest.ai"
    user_id: str
    access_key: SecretStr
    poll_interval: float = Field(10.0, gt=0, description="First wait between status polls (grows with backoff)")
    project_id: int | None = Field(None, gt=0, description="apptest.ai project (pid) test sets run in")
    time_limit: int | None = Field(None, ge=5, le=30, description="Minutes per test; unset: the project's setting")
    use_vo: bool = Field(False, description="Run AT&T Video Optimizer (ARO) with the tests")
    callback: str | None = Field(None, max_length=250, description="URL apptest.ai calls when the test set is done")
    login_id: str | None = Field(None, max_length=150, description="Login the tests use in the app under test")
    login_pw: SecretStr | None = Field(None, description="Its password (use login_pw_file or ${ENV})")

    @field_validator("callback")
    @classmethod
    def _callback(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("expected an http(s) URL")
        return value

    @field_validator("login_pw")
    @classmethod
    def _password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) > 150:
            raise ValueError("apptest.ai takes at most 150 characters")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> AppTestSettings:
        if (self.login_id is None) != (self.login_pw is None):
            raise ValueError("set login_id and login_pw together (the test login of the app under test)")
        return self
