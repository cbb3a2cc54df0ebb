"""Runs one job: folders, cases, plans (their membership needs the case links), then results (they need the
plan links), each entity through the same run context, writer and conflict log.

Safety rules the parts implement (SYNC-NOTES):
- first sight matches before creating; ambiguous matches are logged, never guessed (``pairs``, ``match``);
- a create is preceded by a committed write intent carrying the marker the record will hold; an intent left
  open by a crash is settled at the start of the next run by finding the marker (``intents``);
- the base snapshot and per-side hashes are committed only after the remote write succeeded (``writes``);
- a record missing from a listing is only deleted after a direct lookup confirms it; a modification on the
  other side beats the deletion; a mass deletion stops the job before anything is deleted (``pairs``);
- values a side cannot hold are logged as "cannot-represent" conflicts and that write is not made.
"""

from __future__ import annotations

import logging

from adapters.base import Adapter
from bridge.config import Config, Job
from bridge.errors import BridgeError
from bridge.model import Case, Entity
from bridge.sync.cases import CaseSync
from bridge.sync.conflicts import ConflictLog
from bridge.sync.context import SIDES, RunContext, holds
from bridge.sync.folders import FolderSync
from bridge.sync.pairs import MassDeletionStop
from bridge.sync.plans import PlanSync
from bridge.sync.report import PlannedAction, ProgressHook, SyncReport, no_progress
from bridge.sync.results import ResultSync
from bridge.sync.tasks import PlanTasksOpener, PlanTaskSync
from bridge.sync.writes import Writer
from mappings.scratch import scratch_copy
from mappings.store import Store

__all__ = ["JobRunner", "PlannedAction", "SyncReport"]
log = logging.getLogger("bridge.sync")


class JobRunner:
    def __init__(
        self,
        config: Config,
        job: Job,
        store: Store,
        *,
        adapters: dict[str, Adapter],
        dry_run: bool = False,
        workers: int = 4,
        progress: ProgressHook = no_progress,
        kind: str = "sync",
        open_plan_tasks: PlanTasksOpener | None = None,
        overwrite: bool = False,
        firing_id: int | None = None,
    ) -> None:
        self.job = job
        self.firing_id = firing_id  # the daemon firing this run carries out (recorded on the run)
        self.store = store
        self.dry_run = dry_run
        # a dry run is the run against a scratch copy of the job's store, with the remote writes left out
        self.scratch = scratch_copy(store, job.name) if dry_run else None
        self.kind = kind
        self.open_plan_tasks = open_plan_tasks
        self.report = SyncReport(job.name, job.left, job.right, dry_run)
        self.ctx = RunContext(
            config,
            job,
            self.scratch or store,
            left=adapters[job.left],
            right=adapters[job.right],
            report=self.report,
            dry_run=dry_run,
            workers=workers,
            progress=progress,
            overwrite=overwrite,
        )
        self.ctx.conflicts = ConflictLog(self.ctx)
        self.ctx.writer = Writer(self.ctx)
        if Entity.CASE in job.entities:
            # said on every run: a field one side has no place for is not merged, and nobody should have to
            # find that out by missing it
            for side in SIDES:
                held = self.ctx.side(side).capabilities.case_fields
                lacking = [f for f in Case.content_fields() if f != "custom" and not holds(held, f)]
                if lacking:
                    self.report.note(
                        f"case fields {self.ctx.name(side)} cannot hold, not synced by this job: {', '.join(lacking)}"
                    )

    def run(self) -> SyncReport:
        run = None if self.dry_run else self.store.start_run(self.job.name, kind=self.kind, firing_id=self.firing_id)
        self.report.run_id = run.id if run else None
        status = "ok"
        try:
            status = self._stages()
        except MassDeletionStop as exc:
            status = "aborted"
            self.report.error(str(exc))
        except BridgeError as exc:
            status = "failed"
            self.report.error(str(exc))
        except BaseException as exc:  # recorded, then re-raised (KeyboardInterrupt, SIGTERM -> SystemExit)
            status = "aborted"
            self.report.error(f"interrupted: {type(exc).__name__}")
            self.report.status = status
            if run is not None:
                self.store.finish_run(run, status=status, counts=self.report.as_counts(), errors=self.report.errors)
            if self.scratch is not None:
                self.scratch.close()
            raise
        self.report.status = status
        self._tally()
        if run is not None:
            self.store.finish_run(run, status=status, counts=self.report.as_counts(), errors=self.report.errors)
        log.info(
            "job finished",
            extra={"job": self.job.name, "run_id": self.report.run_id, "status": status, "counts": self.report.flat()},
        )
        return self.report

    def _tally(self) -> None:
        conflicts = self.ctx.conflicts
        self.report.conflicts_open = self.ctx.store.conflict_counts(self.job.name).get(self.job.name, {})
        self.report.conflicts_opened, self.report.conflicts_closed = conflicts.opened, conflicts.closed
        if conflicts.noted:
            self.report.note(
                f"{conflicts.noted} value(s) were stored differently from what was sent "
                f"(testplan-bridge notes --job {self.job.name})"
            )
        if self.scratch is not None:
            self.scratch.close()  # what the dry run would have left behind: told, now forgotten

    def _stages(self) -> str:
        entities = set(self.job.entities)
        cases = CaseSync(self.ctx)
        if Entity.FOLDER in entities:
            FolderSync(self.ctx).run()
        if Entity.CASE in entities:
            cases.run()
        plans = PlanSync(self.ctx)
        if Entity.PLAN in entities:
            plans.run()
            if self.job.perftest:
                PlanTaskSync(self.ctx, self.open_plan_tasks).run()
        if Entity.RESULT in entities:
            ResultSync(self.ctx).run()
        if self.report.errors:
            return "errors"
        cases.save_read_marks()  # only now: see CaseSync.save_read_marks
        plans.reads.save_read_marks()
        return "ok"
