"""Firing times, back-off and the metrics text format (pure functions, no processes)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from bridge.daemon.metrics import Metrics
from bridge.daemon.scheduler import (
    backoff_allows,
    backoff_delay,
    failure_streak,
    firing_key,
    make_trigger,
    period,
)
from bridge.http import RequestKey, RequestStats
from bridge.runlock import lock_key

T0 = datetime(2025, 3, 4, 10, 7, 13, 456789, tzinfo=UTC)


def test_interval_firings_are_epoch_aligned_whenever_an_instance_starts() -> None:
    # two instances started 3.7 s apart compute the same next firings
    a = make_trigger("15m").get_next_fire_time(None, T0)
    b = make_trigger("15m").get_next_fire_time(None, T0 + timedelta(seconds=3.7))
    assert a == b == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    assert make_trigger("2s").get_next_fire_time(None, T0) == datetime(2025, 3, 4, 10, 7, 14, tzinfo=UTC)


def test_cron_is_evaluated_in_utc() -> None:
    nxt = make_trigger("30 2 * * *").get_next_fire_time(None, T0)
    assert nxt == datetime(2025, 3, 5, 2, 30, tzinfo=UTC)
    assert period(make_trigger("*/5 * * * *"), datetime(2025, 3, 4, 10, 5, tzinfo=UTC)) == timedelta(minutes=5)
    assert period(make_trigger("90s"), T0) == timedelta(seconds=90)


def test_firing_key_is_utc_truncated_to_the_second() -> None:
    from zoneinfo import ZoneInfo

    local = T0.astimezone(ZoneInfo("Asia/Shanghai"))
    assert firing_key(local) == firing_key(T0) == datetime(2025, 3, 4, 10, 7, 13, tzinfo=UTC)
    assert firing_key(datetime(2025, 1, 1, 0, 0, 0, 999999)) == datetime(2025, 1, 1, tzinfo=UTC)


def test_backoff_doubles_per_failure_up_to_the_cap() -> None:
    every, cap = timedelta(minutes=15), timedelta(hours=1)
    assert [backoff_delay(n, every, cap) for n in range(6)] == [
        timedelta(0),
        timedelta(minutes=15),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=1),
        timedelta(hours=1),
    ]
    failed = datetime(2025, 1, 1, 10, 0, 0, 300000, tzinfo=UTC)  # the run started a bit after its firing
    nxt = datetime(2025, 1, 1, 10, 15, tzinfo=UTC)
    assert backoff_allows(nxt, failures=1, last_failure=failed, every=every, cap=cap)  # one failure: cadence kept
    assert not backoff_allows(nxt, failures=2, last_failure=failed, every=every, cap=cap)
    assert backoff_allows(nxt + every, failures=2, last_failure=failed, every=every, cap=cap)
    assert not backoff_allows(nxt + 2 * every, failures=9, last_failure=failed, every=every, cap=cap)
    assert backoff_allows(nxt + 3 * every, failures=9, last_failure=failed, every=every, cap=cap)
    assert backoff_allows(nxt, failures=0, last_failure=None, every=every, cap=cap)


def test_failure_streak_counts_only_failed_runs_from_the_newest() -> None:
    t = [datetime(2025, 1, 1, h, tzinfo=UTC) for h in range(6)]
    assert failure_streak([("running", t[5]), ("failed", t[4]), ("failed", t[3]), ("ok", t[2]), ("failed", t[1])]) == (
        2,
        t[4],
    )
    assert failure_streak([("errors", t[3]), ("failed", t[2])]) == (0, None)
    assert failure_streak([]) == (0, None)


def test_lock_keys_are_stable_signed_64_bit_and_distinct() -> None:
    assert lock_key("nightly") == lock_key("nightly")
    assert lock_key("nightly") != lock_key("hourly")
    assert all(-(2**63) <= lock_key(n) < 2**63 for n in ("a", "b", "x" * 200))


def test_metrics_text_format() -> None:
    m = Metrics()
    m.record_run("j1", "ok", 1.5, {("tr", "case"): Counter(created=3, unchanged=2)})
    m.record_run("j1", "failed", 0.25, {})
    m.skip("j1", "backoff")
    stats = RequestStats()
    stats.add(RequestKey("testrail", "GET", "get_cases", 200), 0.1)
    stats.add(RequestKey("testrail", "POST", "add_case", 429), 0.1)
    stats.add(RequestKey("testrail", "GET", "get_cases", 0), 0.1)
    text = m.render(
        stats=stats,
        store_up=True,
        open_conflicts={"j1": 2},
        last_success={"j1": datetime(2025, 1, 1, tzinfo=UTC), "j2": None},
        jobs=["j1", 'we"ird\\job'],
    )
    lines = text.splitlines()
    assert text.endswith("\n")
    assert 'tpb_runs_total{job="j1",status="ok"} 1' in lines
    assert 'tpb_runs_total{job="j1",status="failed"} 1' in lines
    assert 'tpb_records_synced_total{job="j1",system="tr",entity="case",action="created"} 3' in lines
    assert 'tpb_run_duration_seconds_sum{job="j1"} 1.75' in lines
    assert 'tpb_run_duration_seconds_count{job="j1"} 2' in lines
    assert 'tpb_conflicts_open{job="j1"} 2' in lines
    assert 'tpb_conflicts_open{job="we\\"ird\\\\job"} 0' in lines
    assert 'tpb_last_success_timestamp_seconds{job="j1"} 1735689600' in lines
    assert 'tpb_api_errors_total{system="testrail"} 2' in lines
    assert 'tpb_api_requests_total{system="testrail",method="GET",route="get_cases",status="0"} 1' in lines
    assert 'tpb_firings_skipped_total{job="j1",reason="backoff"} 1' in lines
    # every sample belongs to a family declared once with HELP and TYPE
    declared = [line.split()[2] for line in lines if line.startswith("# TYPE")]
    assert len(declared) == len(set(declared))
    for line in lines:
        if not line.startswith("#"):
            name = line.split("{", 1)[0].split(" ", 1)[0]
            assert any(name == d or name in (d + "_sum", d + "_count") for d in declared), line
