from __future__ import annotations

from typing import Literal

from pydantic import Field

from adapters.codearts.settings import HuaweiAuthSettings


class PerfTestSettings(HuaweiAuthSettings):
    """``kind = "perftest"``: CodeArts PerfTest (cpts), same auth as CodeArts TestPlan."""

    kind: Literal["perftest"] = "perftest"
    perftest_project_id: int | None = Field(None, description="PerfTest project (integer) the tasks belong to")
    enable_full_link: bool = Field(False, description="Tasks run as full-link pressure tests")
