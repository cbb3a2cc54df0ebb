from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from adapters.base import SystemSettings


class AppTestSettings(SystemSettings):
    """``kind = "apptest"``: apptest.ai CI API with HTTP Basic ``user_id:access_key``."""

    kind: Literal["apptest"] = "apptest"
    url: str = "https://api.apptest.ai"
    user_id: str
    access_key: SecretStr
    poll_interval: float = Field(10.0, gt=0, description="First wait between status polls (grows with backoff)")
