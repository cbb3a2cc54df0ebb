"""The daemon: schedules every job, runs each firing on exactly one instance, stops and reloads on signals.

One firing, in order (``Daemon.fire``):

1. back-off: the job's streak of failed runs is read from the *store* (not memory), so every instance backs
   off alike and a restart does not forget a failing system;
2. the job's run lock (:mod:`bridge.runlock`: a PostgreSQL advisory lock, or a file lock beside a SQLite
   store): held elsewhere = the job is still running there (another instance, or a ``sync`` someone started),
   skip (a job never overlaps itself, on one machine or several). Taking it marks the runs a dead process
   left "running" as aborted;
3. the firing claim (``Store.claim_firing``): lost = another instance runs this firing;
4. the run, recorded in the store even when the systems cannot be reached (status "failed").

Shutdown (SIGTERM/SIGINT): no new firings; a run in flight stops at its next record boundary (the progress
hook raises ``ShuttingDown``; the engine records the run as "aborted" and re-raises) and the daemon exits 0.
A run that does not reach a boundary within the grace period is marked "aborted" in the store and left:
the engine's intent log lets the next run settle a write that was in flight.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.schedulers.background import BackgroundScheduler

from adapters.registry import open_adapters, plan_tasks_opener
from bridge.config import Config, Job, load_config, parse_duration
from bridge.daemon.health import HealthRules, HealthServer, job_health
from bridge.daemon.metrics import Metrics
from bridge.daemon.scheduler import (
    FiringExecutor,
    backoff_allows,
    backoff_delay,
    failure_streak,
    firing_key,
    make_trigger,
    period,
)
from bridge.errors import BridgeError, ConfigError, JobBusy
from bridge.http import STATS
from bridge.logs import configure_logging
from bridge.memory import give_back_freed_memory
from bridge.runlock import RunLock, job_run
from bridge.sync.engine import JobRunner
from mappings.store import Store, instance_name
from mappings.tables import as_utc

log = logging.getLogger("bridge.daemon")


class ShuttingDown(BaseException):
    """Raised inside a run at a record boundary once the daemon is stopping (BaseException: not an error)."""


@dataclass
class InFlight:
    job: str
    scheduled_for: datetime
    runner: JobRunner | None = None


def scheduled_jobs(cfg: Config) -> list[Job]:
    return [job for job in cfg.jobs if job.schedule]


def load_daemon_config(path: Path) -> Config:
    """Load and check a config for the daemon; ConfigError (exit 2) before anything is written."""
    cfg = load_config(path)
    if not scheduled_jobs(cfg):
        raise ConfigError(
            f"{cfg.source}: no job has a schedule; the daemon would have nothing to do",
            hint='Add schedule = "15m" (an interval) or a 5-field cron expression to a [[jobs]] table.',
        )
    return cfg


def bind_http(cfg: Config) -> HealthServer | None:
    """Bind /healthz and /metrics (before anything else: a port in use is a start-up error, exit 2)."""
    d = cfg.daemon
    if d.http_port is None:
        return None
    try:
        return HealthServer(d.http_host, d.http_port, _unavailable, lambda: "")
    except OSError as exc:
        raise ConfigError(
            f"{cfg.source}: daemon.http_port: cannot listen on {d.http_host}:{d.http_port}: {exc.strerror}",
            hint="Pick a free port, or remove http_port to run without /healthz and /metrics.",
        ) from None


def attach_review(http: HealthServer, cfg: Config, store: Store) -> None:
    """Serve the review pages on the daemon's port: on loopback always, elsewhere only with ``[ui] token``
    (the probes stay open to the orchestrator either way)."""
    from bridge.review.app import ReviewApp
    from bridge.review.web import is_loopback

    token = cfg.ui.token.get_secret_value() if cfg.ui.token is not None else None
    if not is_loopback(cfg.daemon.http_host) and not token:
        http.review = None
        http.review_off = (
            "not found: /healthz and /metrics are served here; the review pages need [ui] token in the config "
            "when daemon.http_host is not loopback\n"
        )
        log.warning("review pages off: daemon.http_host is not loopback and [ui] token is not set")
        return
    http.review = ReviewApp(cfg, store, token=token)


def _unavailable() -> tuple[int, dict[str, Any]]:
    return 503, {"status": "starting"}


def setup_logging(cfg: Config) -> None:
    fmt = cfg.logging.format
    configure_logging(cfg.logging.level, json_lines=None if fmt == "auto" else fmt == "json")


class Daemon:
    def __init__(
        self,
        config_path: Path,
        cfg: Config,
        store: Store,
        *,
        workers: int = 4,
        grace: float = 30.0,
        http: HealthServer | None = None,
    ) -> None:
        self.config_path = config_path
        self.cfg = cfg
        self.store = store
        self.workers = workers
        self.grace = grace
        self.instance = instance_name()
        self.started_at = datetime.now(UTC)
        self.metrics = Metrics()
        self.http = http
        if http is not None:
            http.health = self.health
            http.metrics = self.metrics_text
            attach_review(http, cfg, store)
        self.abandoned: list[InFlight] = []
        self._lock = threading.Lock()
        self._inflight: dict[str, InFlight] = {}
        self._idle = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._reload_requested = False
        self._schedules: dict[str, str] = {}
        self.scheduler = BackgroundScheduler(
            executors={"default": FiringExecutor(max_workers=max(4, len(cfg.jobs) + 2))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        self.scheduler.add_listener(self._on_overlap, EVENT_JOB_MAX_INSTANCES)

    # ------------------------------------------------------------------------------------ life cycle
    def start(self) -> None:
        self._settle_stale_runs()
        self._apply_jobs(self.cfg)
        self.scheduler.start()
        if self.http is not None:
            self.http.start()
        log.info(
            "daemon started",
            extra={
                "instance": self.instance,
                "store": "sqlite" if self.store.is_sqlite else "postgresql",
                "jobs": {name: s for name, s in self._schedules.items()},
                "http_port": self.http.port if self.http else None,
            },
        )

    def _settle_stale_runs(self) -> None:
        """Mark the runs that a dead process (this daemon before a SIGKILL, another instance) left "running" as
        aborted, for every job whose run lock is free now; a job running elsewhere is left to its runner."""
        for job in scheduled_jobs(self.cfg):
            lock = RunLock(self.store, job.name)
            try:
                if not lock.acquire():
                    continue
                try:
                    for run in self.store.abort_stale_runs(job.name):
                        log.warning(
                            "a run left behind by a process that stopped was marked aborted",
                            extra={"job": job.name, "run_id": run.id, "instance": run.instance},
                        )
                finally:
                    lock.release()
            except BridgeError as exc:
                log.error("could not check for runs left behind", extra={"job": job.name, "error": str(exc)})

    def run(self) -> int:
        """Serve until stop is requested (signal handlers call request_stop/request_reload); returns 0."""
        self.start()
        while not self._stopping.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            if self._reload_requested and not self._stopping.is_set():
                self._reload_requested = False
                self.reload()
        self.stop()
        return 0

    def request_stop(self, reason: str = "signal") -> None:
        if not self._stopping.is_set():
            log.info("daemon stopping", extra={"reason": reason, "in_flight": sorted(self._inflight)})
        self._stopping.set()
        self._wake.set()

    def request_reload(self) -> None:
        self._reload_requested = True
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + self.grace
        with self._idle:
            while self._inflight and time.monotonic() < deadline:
                self._idle.wait(max(0.05, deadline - time.monotonic()))
            left = list(self._inflight.values())
        for flight in left:
            self._abandon(flight)
        if self.http is not None:
            self.http.stop()
        log.info("daemon stopped", extra={"instance": self.instance, "abandoned": [f.job for f in left]})

    def _abandon(self, flight: InFlight) -> None:
        """Grace period over: record the run as aborted; the process exits with the run's thread still in it."""
        self.abandoned.append(flight)
        run_id = flight.runner.report.run_id if flight.runner is not None else None
        log.warning("run abandoned at shutdown", extra={"job": flight.job, "run_id": run_id})
        if run_id is None:
            return
        try:
            for run in self.store.runs(job=flight.job, limit=10):
                if run.id == run_id and run.status == "running":
                    self.store.finish_run(
                        run,
                        status="aborted",
                        counts=flight.runner.report.as_counts() if flight.runner else {},
                        errors=["the daemon stopped before the run reached a record boundary (grace period over)"],
                    )
        except Exception as exc:
            log.error("could not record the abandoned run", extra={"job": flight.job, "error": str(exc)})

    # ----------------------------------------------------------------------------------------- reload
    def reload(self) -> None:
        try:
            new = load_daemon_config(self.config_path)
        except BridgeError as exc:
            self.metrics.reload("failed")
            log.error("config reload failed; the running config stays in force", extra={"error": str(exc)})
            return
        old = self.cfg
        if new.store.url != old.store.url:
            log.warning("store url changed: it takes effect at the next restart", extra={"job": None})
        if new.daemon.http_port != old.daemon.http_port or new.daemon.http_host != old.daemon.http_host:
            log.warning("daemon.http_host/http_port changed: it takes effect at the next restart")
        new = new.model_copy(update={"store": old.store})
        setup_logging(new)
        with self._lock:
            self.cfg = new
            if self.http is not None:
                attach_review(self.http, new, self.store)
        self._apply_jobs(new)
        self.metrics.reload("ok")
        log.info("config reloaded", extra={"jobs": dict(self._schedules)})

    def _apply_jobs(self, cfg: Config) -> None:
        """Add, reschedule and remove scheduler jobs to match ``cfg``; unchanged schedules keep their timing."""
        wanted = {job.name: job.schedule for job in scheduled_jobs(cfg) if job.schedule}
        for name in list(self._schedules):
            if name not in wanted:
                self.scheduler.remove_job(name)
                del self._schedules[name]
                log.info("job unscheduled", extra={"job": name})
        for name, schedule in wanted.items():
            if self._schedules.get(name) == schedule:
                continue
            self.scheduler.add_job(
                self.fire, make_trigger(schedule), args=[name], id=name, name=name, replace_existing=True
            )
            self._schedules[name] = schedule
            log.info("job scheduled", extra={"job": name, "schedule": schedule})
        for job in cfg.jobs:
            if not job.schedule:
                log.info("job has no schedule; the daemon leaves it to 'testplan-bridge sync'", extra={"job": job.name})

    # ---------------------------------------------------------------------------------------- firings
    def _on_overlap(self, event: JobSubmissionEvent) -> None:
        self.metrics.skip(event.job_id, "overlap")
        log.info("firing skipped: the previous run is still going", extra={"job": event.job_id})

    def _job(self, name: str) -> tuple[Config, Job | None]:
        with self._lock:
            cfg = self.cfg
        for job in cfg.jobs:
            if job.name == name:
                return cfg, job
        return cfg, None

    def fire(self, name: str, scheduled_for: datetime | None = None) -> None:
        """Run one firing; ``scheduled_for`` comes from FiringExecutor (a default only to satisfy APScheduler's
        argument check when the job is added)."""
        key = firing_key(scheduled_for or datetime.now(UTC))
        if self._stopping.is_set():
            return
        cfg, job = self._job(name)
        if job is None or not job.schedule:
            return
        where = {"job": name, "scheduled_for": key.isoformat()}
        try:
            if not self._backoff_allows(cfg, job, key):
                self.metrics.skip(name, "backoff")
                return
            try:
                with job_run(self.store, name):
                    if not self.store.claim_firing(name, key, self.instance):
                        self.metrics.skip(name, "claimed-elsewhere")
                        log.debug("firing claimed by another instance", extra=where)
                        return
                    try:
                        self._run(cfg, job, key, self.store.firing_id(name, key))
                    finally:
                        give_back_freed_memory()  # the run's records are gone with its frame
            except JobBusy as exc:
                self.metrics.skip(name, "busy-elsewhere")
                log.info("firing skipped: the job is running elsewhere", extra={**where, "detail": exc.message})
        except ShuttingDown:
            log.info("run stopped at a record boundary for shutdown", extra=where)
        except Exception as exc:  # the store went away, a bug: log it, keep the daemon and the other jobs going
            self.metrics.skip(name, "error")
            log.error("firing failed", extra={**where, "error": f"{type(exc).__name__}: {exc}"})

    def _backoff_allows(self, cfg: Config, job: Job, key: datetime) -> bool:
        assert job.schedule is not None
        runs = self.store.runs(job=job.name, limit=25)
        failures, last = failure_streak([(r.status, as_utc(r.started_at)) for r in runs])
        if not failures:
            return True
        every = period(make_trigger(job.schedule), key)
        cap = parse_duration(cfg.daemon.max_backoff)
        if backoff_allows(key, failures=failures, last_failure=last, every=every, cap=cap):
            return True
        resume = (last or key) + backoff_delay(failures, every, cap)
        log.info(
            "firing skipped: backing off after failed runs",
            extra={"job": job.name, "failures": failures, "resume_after": resume.isoformat(timespec="seconds")},
        )
        return False

    def _run(self, cfg: Config, job: Job, key: datetime, firing_id: int | None) -> None:
        flight = InFlight(job.name, key)
        with self._lock:
            self._inflight[job.name] = flight
        started = time.monotonic()
        status = "aborted"
        try:
            try:
                adapters = open_adapters(cfg, [job.left, job.right], job, store=self.store)
            except BridgeError as exc:
                # no run row would exist for a system that cannot be reached: record one, it feeds back-off
                run = self.store.start_run(job.name, firing_id=firing_id)
                self.store.finish_run(run, status="failed", counts={}, errors=[str(exc)])
                self.store.record_firing_run(job.name, key, run.id)
                status = "failed"
                log.warning(
                    "run failed",
                    extra={
                        "job": job.name,
                        "run_id": run.id,
                        "status": status,
                        "systems": [job.left, job.right],
                        "error": str(exc),
                    },
                )
                self.metrics.record_run(job.name, status, time.monotonic() - started, {})
                return
            try:
                runner = JobRunner(
                    cfg,
                    job,
                    self.store,
                    adapters=adapters,
                    workers=self.workers,
                    progress=self._progress,
                    open_plan_tasks=plan_tasks_opener(cfg),
                    firing_id=firing_id,
                )
                flight.runner = runner
                log.info("run started", extra={"job": job.name, "scheduled_for": key.isoformat()})
                try:
                    report = runner.run()
                except Exception as exc:
                    if runner.report.status in ("running", "aborted"):
                        raise
                    # the run was finished and recorded; only what the engine does afterwards failed: keep
                    # the outcome (metrics, log) rather than lose a recorded run to a bookkeeping error
                    log.error(
                        "the engine raised after recording the run",
                        extra={
                            "job": job.name,
                            "run_id": runner.report.run_id,
                            "error": f"{type(exc).__name__}: {exc}",
                        },
                    )
                    report = runner.report
            finally:
                for adapter in adapters.values():
                    adapter.close()
                if flight.runner is not None:  # also for a run stopped by shutdown: the firing names its run
                    self.store.record_firing_run(job.name, key, flight.runner.report.run_id)
            status = report.status
            seconds = time.monotonic() - started
            self.metrics.record_run(job.name, status, seconds, report.counts)
            log.log(
                logging.INFO if status == "ok" else logging.WARNING,
                "run finished",
                extra={
                    "job": job.name,
                    "run_id": report.run_id,
                    "status": status,
                    "left": job.left,
                    "right": job.right,
                    "counts": report.as_counts(),
                    "errors": len(report.errors),
                    "first_error": report.errors[0] if report.errors else None,
                    "duration_s": round(seconds, 3),
                },
            )
        except ShuttingDown:
            self.metrics.record_run(job.name, "aborted", time.monotonic() - started, {})
            raise
        finally:
            with self._idle:
                self._inflight.pop(job.name, None)
                self._idle.notify_all()

    def _progress(self, _label: str, _total: int | None) -> Callable[[int], None]:
        """The engine's progress hook: the place where a run notices a shutdown, between records."""
        if self._stopping.is_set():
            raise ShuttingDown()

        def tick(_n: int) -> None:
            if self._stopping.is_set():
                raise ShuttingDown()

        return tick

    # ---------------------------------------------------------------------------------- observability
    def health(self) -> tuple[int, dict[str, Any]]:
        """/healthz: 200 when the store answers and every scheduled job is healthy (see health.job_health)."""
        store_ok = self.store.ping()
        now = datetime.now(UTC)
        jobs: dict[str, Any] = {}
        with self._lock:
            cfg = self.cfg
            running = set(self._inflight)
        rules = HealthRules(cfg.daemon.unhealthy_after_failures, cfg.daemon.unhealthy_after_periods)
        reasons: list[str] = []
        if store_ok:
            try:
                for job in scheduled_jobs(cfg):
                    assert job.schedule is not None
                    every = period(make_trigger(job.schedule), now)
                    runs = self.store.runs(job=job.name, limit=max(25, rules.failures + 5))
                    state = job_health(runs, every=every, now=now, watching_since=self.started_at, rules=rules)
                    if state["last_success"] is None and (ok := self.store.last_success(job.name)) is not None:
                        # older than the runs read: the age still counts from it
                        state = job_health(
                            [*runs, ok], every=every, now=now, watching_since=self.started_at, rules=rules
                        )
                    jobs[job.name] = {"schedule": job.schedule, **state, "running_here": job.name in running}
                    reasons += [f"job {job.name}: {r}" for r in state["reasons"]]
            except BridgeError:
                store_ok = False
        if not store_ok:
            reasons.insert(0, "the store cannot be reached")
        body = {
            "status": "ok" if not reasons else ("store unreachable" if not store_ok else "unhealthy"),
            "reasons": reasons,
            "instance": self.instance,
            "store": "reachable" if store_ok else "unreachable",
            "stopping": self._stopping.is_set(),
            "jobs": jobs,
        }
        return (200 if not reasons else 503), body

    def metrics_text(self) -> str:
        with self._lock:
            cfg = self.cfg
        names = [j.name for j in scheduled_jobs(cfg)]
        store_ok = self.store.ping()
        open_conflicts: dict[str, int] = {}
        last_success: dict[str, datetime | None] = {}
        if store_ok:
            try:
                for c in self.store.conflicts(open_only=True):
                    open_conflicts[c.job] = open_conflicts.get(c.job, 0) + 1
                for name in names:
                    ok = self.store.last_success(name)
                    last_success[name] = as_utc(ok.started_at) if ok else None
            except Exception:
                store_ok = False
        return self.metrics.render(
            stats=STATS,
            store_up=store_ok,
            open_conflicts=open_conflicts,
            last_success=last_success,
            jobs=names,
        )
