"""The benchmarks' contract: one JSON line of figures on stdout with --json, and a CPU profile that charges
CPU, not waiting. Run at toy sizes: what is checked is the shape and the accounting, not the speed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from cpu_sampler import CpuSampler  # noqa: E402
from profile_top import summarise  # noqa: E402

FIGURES = {
    "cases",
    "requests",
    "min_requests",
    "wall_s",
    "bridge_cpu_s",
    "bridge_cpu_ms_per_case",
    "peak_rss_mib",
    "simulator_cpu_s",
}


def bench(script: str, *args: str) -> tuple[dict[str, object], str]:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout  # only the JSON line: the table went to stderr
    return json.loads(lines[0]), proc.stderr


def test_a_read_benchmark_prints_its_figures_as_one_json_line() -> None:
    figures, table = bench("bench_testrail_read.py", "--cases", "600", "--sections", "5")
    assert FIGURES <= figures.keys()
    assert figures["cases"] == 600 and "read 600 cases" in table
    assert figures["requests"] == figures["min_requests"] == {"testrail": 1 + 3}  # sections, 3 case pages


def test_the_migration_benchmark_reports_both_phases_and_the_store_writes() -> None:
    figures, _ = bench("bench_migrate.py", "--cases", "40", "--sections", "3", "--no-incremental", "--workers", "2")
    sync = figures["no_change_sync"]
    assert isinstance(sync, dict)
    for phase in (figures, sync):
        assert FIGURES | {"store_bytes_per_case", "failed"} <= phase.keys()
        assert phase["failed"] == 0
    assert figures["created"] == 43  # 40 cases and 3 folders
    # every case costs at least its intent and its link in the store; the no-change sync writes (almost) none
    assert isinstance(figures["store_bytes_per_case"], int) and figures["store_bytes_per_case"] > 1000
    assert sync["requests"]["testplanit"] == sync["min_requests"]["testplanit"]  # type: ignore[index]


def test_the_cpu_sampler_charges_cpu_not_waiting(tmp_path: Path) -> None:
    stop = threading.Event()

    def spinner() -> None:
        while not stop.is_set():
            sum(range(1000))

    def sleeper() -> None:
        stop.wait()

    threads = [threading.Thread(target=spinner), threading.Thread(target=sleeper)]
    with CpuSampler(interval=0.002) as sampler:
        for t in threads:
            t.start()
        for _ in range(1000):  # until 0.2 s of CPU were sampled (at most 20 s on a very busy machine)
            if sum(sampler.stacks.values()) > 200_000:
                break
            time.sleep(0.02)
        stop.set()
        for t in threads:
            t.join()
    sampler.write(tmp_path / "profile.txt")
    total, _, _, own = summarise(tmp_path / "profile.txt")
    spinning = sum(us for frame, us in own.items() if ".spinner (" in frame)
    assert spinning / total > 0.8
    waiting = sum(us for frame, us in own.items() if ".sleeper (" in frame or "wait (" in frame)
    assert waiting / total < 0.02  # a thread that waits costs (next to) nothing
