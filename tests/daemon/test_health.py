"""When /healthz calls a job unhealthy: failed runs in a row, or no success for a multiple of its schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.daemon.health import HealthRules, job_health
from mappings.tables import Run

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
EVERY = timedelta(minutes=15)
RULES = HealthRules(failures=3, periods=3)


def run(status: str, minutes_ago: float, *, error: str = "", dry_run: bool = False) -> Run:
    started = NOW - timedelta(minutes=minutes_ago)
    finished = None if status == "running" else started + timedelta(seconds=30)
    return Run(
        job="j",
        status=status,
        started_at=started,
        finished_at=finished,
        errors=[error] if error else [],
        dry_run=dry_run,
        heartbeat_at=started,
    )


def health(runs: list[Run], watching_since: datetime = NOW - timedelta(days=1)) -> dict:
    return job_health(runs, every=EVERY, now=NOW, watching_since=watching_since, rules=RULES)


def test_a_job_that_succeeds_on_schedule_is_healthy() -> None:
    state = health([run("ok", 14), run("failed", 29), run("ok", 44)])
    assert state["healthy"] and state["reasons"] == []
    assert state["last_run"]["status"] == "ok" and state["failures_in_a_row"] == 0
    assert state["last_success_age_s"] == 14 * 60 - 30


def test_three_failed_runs_in_a_row_are_unhealthy_with_the_last_error() -> None:
    runs = [run("failed", 1, error="testrail: 401 Authentication failed"), run("failed", 16), run("failed", 31)]
    state = health([*runs, run("ok", 40)])
    assert not state["healthy"] and state["failures_in_a_row"] == 3
    assert state["reasons"] == ["failed 3 runs in a row (last: testrail: 401 Authentication failed)"]


def test_a_run_in_progress_and_dry_runs_neither_break_nor_make_a_streak() -> None:
    runs = [run("running", 0), run("ok", 1, dry_run=True), run("failed", 16), run("failed", 31), run("ok", 40)]
    state = health(runs)
    assert state["failures_in_a_row"] == 2 and state["healthy"]
    assert state["last_run"]["status"] == "running"


def test_no_success_for_three_periods_is_unhealthy_even_when_runs_only_have_errors() -> None:
    """Runs with status "errors" (some records failed) do not back off, but a job that never gets through is
    not healthy either: the age rule catches it."""
    runs = [run("errors", m) for m in (1, 16, 31)] + [run("ok", 46)]
    state = health(runs)
    assert not state["healthy"] and state["failures_in_a_row"] == 0
    assert state["reasons"] == ["no successful run since 2025-03-04T11:14:30+00:00 for 45m, more than 3 periods of 15m"]


def test_a_job_that_never_succeeded_counts_from_when_the_daemon_started() -> None:
    assert health([run("errors", 1)], watching_since=NOW - timedelta(minutes=20))["healthy"]
    state = health([run("errors", 1)], watching_since=NOW - timedelta(minutes=50))
    assert state["reasons"] == ["no successful run for 50m, more than 3 periods of 15m"]
    assert state["last_success"] is None and state["last_success_age_s"] is None
