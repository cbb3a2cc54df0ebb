"""Schedules: triggers, firing keys, back-off, and the APScheduler executor that hands each firing its time.

Every instance sharing a store must compute the *same* firing times, because the firing time is the claim key
(``Store.claim_firing``) that makes exactly one instance run each firing. So intervals are aligned to the Unix
epoch (a 15m job fires at :00, :15, :30, :45 on every machine, whenever each was started), cron expressions
are evaluated in UTC (machines in different time zones agree), and keys are truncated to the second.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import BasePoolExecutor
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bridge.config import parse_duration

log = logging.getLogger("bridge.daemon")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: failures counted at most (2**19 periods is beyond any sensible max_backoff)
MAX_STREAK = 20


def is_interval(schedule: str) -> bool:
    try:
        parse_duration(schedule)
    except ValueError:
        return False
    return True


def make_trigger(schedule: str) -> BaseTrigger:
    """An epoch-aligned interval trigger for "15m"-style schedules, a UTC cron trigger for 5-field expressions."""
    if is_interval(schedule):
        seconds = parse_duration(schedule).total_seconds()
        return IntervalTrigger(seconds=seconds, start_date=EPOCH, timezone=UTC)
    return CronTrigger.from_crontab(schedule, timezone=UTC)


def firing_key(when: datetime) -> datetime:
    """The claim key of a firing: UTC, truncated to the second (clocks and float maths differ in microseconds)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0)


def period(trigger: BaseTrigger, at: datetime) -> timedelta:
    """The time from the firing at ``at`` to the next one (for cron: the gap that follows ``at``)."""
    if isinstance(trigger, IntervalTrigger):
        return timedelta(seconds=trigger.interval_length)
    nxt = trigger.get_next_fire_time(None, at + timedelta(seconds=1))
    return (nxt - at) if nxt is not None else timedelta(days=1)


def backoff_delay(failures: int, every: timedelta, cap: timedelta) -> timedelta:
    """How long after the last failed run the next run may start: 1, 2, 4, 8... periods, at most ``cap``.

    The first failure keeps the normal cadence (one period): a single transient failure should not cost a
    firing. From the second consecutive failure on, firings are skipped.
    """
    if failures <= 0:
        return timedelta(0)
    return min(every * (2 ** (min(failures, MAX_STREAK) - 1)), cap)


def backoff_allows(
    scheduled_for: datetime, *, failures: int, last_failure: datetime | None, every: timedelta, cap: timedelta
) -> bool:
    """May the firing at ``scheduled_for`` run, given the job's streak of failed runs?

    Half a period of slack: the failed run started a little after its own firing, and without slack the firing
    exactly one back-off later would be skipped for those few milliseconds.
    """
    if failures <= 0 or last_failure is None:
        return True
    return scheduled_for + every / 2 >= last_failure + backoff_delay(failures, every, cap)


def failure_streak(statuses: Sequence[tuple[str, datetime]]) -> tuple[int, datetime | None]:
    """(consecutive failed runs, start of the newest) from runs newest first; runs still going are ignored.

    Only "failed" counts: "errors" means the job ran and some records failed (the next run retries them), and
    "aborted" is a shutdown or a mass-deletion stop, neither of which more back-off would help.
    """
    n, newest = 0, None
    for status, started in statuses:
        if status == "running":
            continue
        if status != "failed":
            break
        if newest is None:
            newest = started
        n += 1
    return n, newest


class FiringExecutor(BasePoolExecutor):
    """A thread pool executor that calls ``func(*args, scheduled_for)`` with the firing's scheduled time.

    APScheduler's own executors do not tell the job function which firing it is running; the claim key needs
    it. With ``coalesce=True`` the scheduler hands over only the newest of several missed run times.
    """

    def __init__(self, max_workers: int = 10) -> None:
        super().__init__(concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="tpb-firing"))

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        scheduled_for = run_times[-1]

        def call() -> None:
            job.func(*job.args, scheduled_for, **job.kwargs)

        def done(f: concurrent.futures.Future[None]) -> None:
            exc = f.exception()
            if exc is not None:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, [])

        self._pool.submit(call).add_done_callback(done)
