"""What every part of one job run shares: the job, its two sides, the store, the policy and the report.

The entity modules (folders, cases, plans, results, tasks) read through this and write only through its
:class:`~bridge.sync.writes.Writer` and :class:`~bridge.sync.conflicts.ConflictLog`, so intents, writes,
conflicts, notes, counts and the planned actions follow one path for every entity.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from adapters.base import Adapter
from bridge.config import Config, Job
from bridge.errors import RemoteError
from bridge.model import Plan
from bridge.sync.merge import Policy, Side
from bridge.sync.report import ProgressHook, SyncReport
from bridge.sync.views import CaseFields, plan_view
from bridge.text import stable_json
from mappings.store import Store

if TYPE_CHECKING:
    from bridge.sync.conflicts import ConflictLog
    from bridge.sync.writes import Writer

log = logging.getLogger("bridge.sync")
SIDES: tuple[Side, Side] = ("left", "right")
PLAN_FIELDS = ("name", "description", "start_date", "end_date", "milestone", "state")


def other(side: Side) -> Side:
    return "right" if side == "left" else "left"


def holds(fields: frozenset[str] | None, name: str) -> bool:
    return fields is None or name in fields


def jsonable(value: Any) -> Any:
    return json.loads(stable_json(value))


class RunContext:
    def __init__(
        self,
        config: Config,
        job: Job,
        store: Store,
        *,
        left: Adapter,
        right: Adapter,
        report: SyncReport,
        dry_run: bool,
        workers: int,
        progress: ProgressHook,
        overwrite: bool = False,
    ) -> None:
        self.config = config
        self.job = job
        self.store = store
        self.left = left
        self.right = right
        self.report = report
        self.dry_run = dry_run
        self.workers = max(1, workers)
        self.progress = progress
        self.policy = Policy(
            name=job.conflict_policy,
            owners=dict(job.field_owners),
            direction=job.direction,
            tolerance=job.tolerance(),
            overwrite=overwrite,
        )
        self.case_fields = CaseFields.for_job(
            left.capabilities.case_fields, right.capabilities.case_fields, job.custom_fields
        )
        self.plan_fields = tuple(
            f
            for f in PLAN_FIELDS
            if holds(left.capabilities.plan_fields, f) and holds(right.capabilities.plan_fields, f)
        )
        self._case_maps: dict[str, dict[str, str]] | None = None
        #: every case listed in this run, per side (the PerfTest hook reads their tags)
        #: per side, the cases listed, by id, held small (bridge.sync.unchanged: full() gives the case back)
        self.listed_cases: dict[Side, dict[str, Any]] = {}
        #: records a dry run created in its imagination, by (side, entity, id): later stages read them here
        self.simulated: dict[tuple[Side, str, str], Any] = {}
        self._placeholders = itertools.count(1)
        # set by the runner right after construction (they need the context themselves)
        self.conflicts: ConflictLog
        self.writer: Writer

    # ---------------------------------------------------------------------------------------- sides
    def side(self, side: Side) -> Adapter:
        return self.left if side == "left" else self.right

    def name(self, side: Side) -> str:
        return self.job.left if side == "left" else self.job.right

    def record_ref(self, left_id: str | None, right_id: str | None) -> str:
        return f"{self.job.left}:{left_id or '-'} <-> {self.job.right}:{right_id or '-'}"

    # ---------------------------------------------------------------------------------------- scope
    def in_scope_path(self, path: Sequence[str]) -> bool:
        if not self.job.scope.folders:
            return True
        joined = "/".join(path)
        return any(joined == f.strip("/") or joined.startswith(f.strip("/") + "/") for f in self.job.scope.folders)

    def in_plan_scope(self, plan: Plan) -> bool:
        patterns = self.job.scope.plan_names
        return not patterns or any(fnmatch.fnmatchcase(plan.name, p) for p in patterns)

    # ------------------------------------------------------------------------------------ case links
    def forget_case_links(self) -> None:
        """Case links may have changed since they were last read (a stage created or unlinked some)."""
        self._case_maps = None

    def case_map(self, direction: str) -> dict[str, str]:
        cache = self._case_maps
        if cache is None:
            links = [link for link in self.store.links(self.job.name, "case") if link.state == "active"]
            cache = {
                "left_to_right": {link.left_id: link.right_id for link in links},
                "right_to_left": {link.right_id: link.left_id for link in links},
            }
            self._case_maps = cache
        return cache[direction]

    def to_left_ids(self, side: Side) -> dict[str, str]:
        """Maps ``side``'s case ids to left ids (identity for the left's linked cases)."""
        if side == "left":
            return {lid: lid for lid in self.case_map("left_to_right")}
        return self.case_map("right_to_left")

    def from_source_ids(self, source: Side) -> dict[str, str]:
        """Maps ``source``'s case ids to the other side's."""
        return self.case_map("left_to_right" if source == "left" else "right_to_left")

    def plan_view(self, plan: Plan, side: Side) -> dict[str, Any]:
        return plan_view(plan, side, self.plan_fields, self.to_left_ids(side))

    # ------------------------------------------------------------------------------------ dry runs
    def simulate_create(self, side: Side, entity: str, record: Any, marker: str | None) -> Any:
        """A dry run's stand-in for the record a create would return. Its id is all digits (what every
        system's ids look like to the checks), far above any id a system hands out."""
        made = record.model_copy(update={"id": str(9 * 10**14 + next(self._placeholders)), "marker": marker})
        self.simulated[(side, entity, made.id)] = made
        return made

    def is_simulated(self, side: Side, entity: str, native_id: str) -> bool:
        return (side, entity, native_id) in self.simulated

    def get_plan(self, side: Side, plan_id: str) -> Plan | None:
        found = self.simulated.get((side, "plan", plan_id))
        return found if found is not None else self.side(side).get_plan(plan_id)

    # -------------------------------------------------------------------------------------- running
    def parallel(self, label: str, items: Sequence[Any], fn: Callable[[Any], None]) -> None:
        """``fn`` for every item, ``workers`` at a time; a remote error on one item is reported, not fatal."""
        if not items:
            return
        tick = self.progress(label, len(items))

        def guarded(item: Any) -> None:
            try:
                fn(item)
            except RemoteError as exc:
                self.report.error(str(exc))
            finally:
                tick(1)

        if self.workers == 1 or len(items) == 1:
            for item in items:
                guarded(item)
            return
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"sync-{self.job.name}") as pool:
            list(pool.map(guarded, items))
