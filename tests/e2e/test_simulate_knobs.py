"""``testplan-bridge simulate --rpm/--latency`` and the same knobs of sim_process, as a user runs them.

Rates are checked as counts and ratios (how many of a burst were served, what Retry-After said against the
time the window still had to run), latency as a lower bound per request: nothing here depends on how fast
the machine is.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sim_process import start

from adapters.simulation import WINDOW_SECONDS, Faults

EXE = shutil.which("testplan-bridge", path=str(Path(sys.executable).parent)) or "testplan-bridge"


@pytest.fixture
def simulate(request: pytest.FixtureRequest) -> Iterator[dict[str, object]]:
    """``testplan-bridge simulate testrail --seed 1`` plus the test's extra options, in its own process."""
    proc = subprocess.Popen(
        [EXE, "simulate", "testrail", "--seed", "1", *request.param], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def api_client(info: dict[str, object]) -> httpx.Client:
    creds = info["credentials"]
    assert isinstance(creds, dict)
    return httpx.Client(base_url=str(info["url"]), auth=(creds["user"], creds["api_key"]))


@pytest.mark.parametrize("simulate", [["--rpm", "12"]], indirect=True)
def test_rpm_serves_the_rate_then_429_with_retry_after_until_the_window_frees(simulate: dict[str, object]) -> None:
    with api_client(simulate) as http:
        first = time.monotonic()
        answers = [http.get("/index.php?/api/v2/get_case/1") for _ in range(30)]
        elapsed = time.monotonic() - first
    assert elapsed < WINDOW_SECONDS  # the whole burst fell into one window
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) / len(statuses) == 12 / 30  # the rate, then nothing more in this minute
    assert statuses[:12] == [200] * 12
    for answer in answers[12:]:
        assert answer.status_code == 429 and "error" in answer.json()
        wait = int(answer.headers["Retry-After"])  # TestRail: whole seconds until the next request is allowed
        # the window opened at the first request, so the seconds it still has to run are within [60 - elapsed, 60]
        assert math.floor(WINDOW_SECONDS - elapsed) <= wait <= WINDOW_SECONDS


@pytest.mark.parametrize("simulate", [["--latency", "0.3"]], indirect=True)
def test_latency_is_added_to_every_request(simulate: dict[str, object]) -> None:
    with api_client(simulate) as http:
        took = []
        for _ in range(4):
            started = time.perf_counter()
            assert http.get("/index.php?/api/v2/get_case/1").status_code == 200
            took.append(time.perf_counter() - started)
    assert min(took) / 0.3 >= 1.0


def test_sim_process_knobs_log_and_cpu() -> None:
    sim = start("testrail", seed=1, rpm=5, latency=0.05, control=True)
    try:
        with api_client(sim.info) as http:
            for _ in range(8):
                http.get("/index.php?/api/v2/get_case/1")
        log = sim.log()
        assert [status for *_, status in log] == [200] * 5 + [429] * 3
        assert all("get_case/1" in query for _, _, query, _ in log)
        assert len(sim.log(6)) == 2
        assert sim.cpu_seconds() > 0  # importing and seeding alone costs CPU
    finally:
        sim.stop()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("interval", "served_share"), [(0.2, 1.0), (0.1, 0.5), (0.05, 0.25)])
def test_rate_window_serves_the_configured_rate(interval: float, served_share: float) -> None:
    """At 300 per minute: paced at the rate everything is served; twice or four times as fast, half or a quarter."""
    clock = Clock()
    faults = Faults(requests_per_minute=300, clock=clock)
    decisions = []
    for _ in range(12_000):
        decisions.append(faults.decide())
        clock.now += interval
    after_first_minute = decisions[int(WINDOW_SECONDS / interval) :]
    served = after_first_minute.count(None) / len(after_first_minute)
    assert served == pytest.approx(served_share, abs=0.01)


def test_retry_after_is_the_time_until_a_slot_frees() -> None:
    clock = Clock()
    faults = Faults(requests_per_minute=2, clock=clock)
    assert faults.decide() is None
    clock.now += 10.5
    assert faults.decide() is None
    assert faults.decide() == "throttle"
    assert faults.retry_after_now() == 50  # 49.5 s until the first request leaves the window, rounded up
    clock.now += 49.5
    assert faults.decide() is None  # the first request left: one slot
    assert faults.retry_after_now() == 11  # the window is full again until the second one leaves
    faults.retry_after = None
    assert faults.retry_after_now() is None  # a server that omits the header
