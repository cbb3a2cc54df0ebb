"""The PerfTest task per synced plan, behind the adapter contract's :class:`~adapters.base.PlanTasks`."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.base import PlanTasks
from adapters.perftest.client import PerfTestClient, ensure_plan_task
from adapters.perftest.settings import PerfTestSettings


class PerfTestPlanTasks(PlanTasks):
    def __init__(self, name: str, settings: PerfTestSettings) -> None:
        self.client = PerfTestClient(name, settings)

    def ensure_plan_task(self, plan_name: str, case_ids: Sequence[int]) -> None:
        ensure_plan_task(self.client, plan_name, case_ids)

    def close(self) -> None:
        self.client.close()
