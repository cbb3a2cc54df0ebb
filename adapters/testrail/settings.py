from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator

from adapters.base import SystemSettings
from bridge.http import HttpSettings

#: hosts of TestRail Cloud, which limits every instance to 180 requests a minute (Professional; 300 Enterprise)
CLOUD_DOMAINS = ("testrail.io", "testrail.com", "testrail.net")
#: pacing for a TestRail Cloud url when the config sets none: below the smallest documented limit, with room
#: for the lower limits users report and for other clients of the same instance (a 429 is still waited out)
CLOUD_REQUESTS_PER_MINUTE = 150.0


def is_testrail_cloud(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in CLOUD_DOMAINS)


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

    def http_settings(self, **overrides: Any) -> HttpSettings:
        """A TestRail Cloud url is paced below the Cloud's limit unless the config sets requests_per_minute;
        self-hosted servers have no limit and get no pacing."""
        settings = super().http_settings(**overrides)
        if settings.requests_per_minute is None and is_testrail_cloud(self.url):
            settings.requests_per_minute = CLOUD_REQUESTS_PER_MINUTE
        return settings

    def secret(self) -> str:
        value = self.api_key or self.password
        assert value is not None
        return value.get_secret_value()
