"""What every benchmark shares: simulators in child processes, measured phases, and one JSON line of figures.

A benchmark starts its simulators with :func:`simulators` (each in a process of its own, see
tests/e2e/sim_process.py, so whatever this process spends is the bridge's), wraps each phase it measures in
:func:`measure`, prints its table through :class:`Output` and ends with :meth:`Output.emit`: one JSON line on
stdout. With ``--json`` the table goes to stderr, so stdout holds only that line.

    parser = harness.parser(__doc__)                    # --json, --rpm, --latency, --profile
    parser.add_argument("--cases", type=int, default=1000)
    args = parser.parse_args()
    out = harness.Output(args.json)
    with harness.simulators(args, testrail={"seed": 1, "cases": args.cases}) as sims:
        with harness.measure(sims, profile=harness.profile_to(args, "read")) as phase:
            ...                                          # the bridge's work, in this process
        figures = phase.figures(cases=args.cases, min_requests={"testrail": 41})
    out.line(harness.summary("read", figures))
    out.emit("my_bench", figures)

How each figure is taken:

- ``requests``: per system, what its simulator's request log saw during the phase (429s included; they are
  also counted apart under ``throttled``). ``min_requests`` is the benchmark's own count of what the API
  needs at the least for the same work (pages + creates + the adapter's fixed set-up), computed from the data.
- ``wall_s``: ``time.perf_counter`` around the phase.
- ``bridge_cpu_s``: ``time.process_time`` of this process (all its threads); the simulators are children, so
  none of theirs. A bridge run as a subprocess (``ci push``) is measured by :meth:`Phase.run`, from the
  ``rusage`` that ``os.wait4`` returns for exactly that child.
- ``peak_rss_mib``: this process's high-water mark ``VmHWM`` from ``/proc/self/status``, reset at the start of
  the phase by writing 5 to ``/proc/self/clear_refs`` (so a later phase is not charged an earlier one's peak;
  it still starts from the memory the process holds then, ``rss_start_mib``). For a subprocess: its
  ``ru_maxrss``.
- ``simulator_cpu_s``: utime + stime of each simulator process from ``/proc/PID/stat``, before and after.
- ``store_bytes_per_case``: ``write_bytes`` of ``/proc/self/io`` (bytes this process caused to be written to
  the storage layer; only the store writes files here), divided by the cases. Only when the store file is on a
  disk-backed filesystem: on tmpfs nothing reaches storage and the count is 0. A phase that writes the store ends
  with a checkpoint of SQLite's write-ahead log (:func:`checkpoint`), so the pages it logged and SQLite would
  copy to the database file later are counted in the phase that wrote them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from cpu_sampler import CpuSampler  # noqa: E402
from sim_process import SimProcess, start  # noqa: E402

LogEntry = tuple[str, str, str, int]


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark has."""
    p = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--json", action="store_true", help="print only the JSON line on stdout (the table on stderr)")
    p.add_argument("--rpm", type=int, default=None, help="rate limit of every simulator, requests per minute")
    p.add_argument("--latency", type=float, default=0.0, help="seconds every simulator adds to each request")
    p.add_argument(
        "--profile", type=Path, default=None, metavar="DIR", help="profile the CPU of each phase into DIR/<phase>.txt"
    )
    return p


def profile_to(args: argparse.Namespace, phase: str) -> Path | None:
    """Where ``--profile DIR`` wants the profile of ``phase`` (None: not profiling)."""
    directory: Path | None = getattr(args, "profile", None)
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{phase}.txt"


@contextmanager
def profiled(path: Path | None) -> Iterator[None]:
    """Profile this process's CPU while the block runs, into ``path`` (None: do nothing); see cpu_sampler.py.
    Summarise the file with ``python benchmarks/profile_top.py FILE``."""
    if path is None:
        yield
        return
    switch = sys.getswitchinterval()
    # the sampler runs only when it gets the GIL: handing it over more often keeps the samples from landing
    # mostly where a thread lets go of it (a lock wait, a socket read) rather than where it computes
    sys.setswitchinterval(0.0005)
    try:
        with CpuSampler(interval=0.001) as sampler:
            yield
    finally:
        sys.setswitchinterval(switch)
    sampler.write(path)


class Output:
    """The benchmark's table (stdout, or stderr under --json) and its one JSON line (stdout)."""

    def __init__(self, json_only: bool) -> None:
        self.stream = sys.stderr if json_only else sys.stdout

    def line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def lines(self, texts: Sequence[str]) -> None:
        for text in texts:
            self.line(text)

    def emit(self, benchmark: str, figures: dict[str, Any], **extra: Any) -> None:
        line = {"benchmark": benchmark, **figures, **extra, "date": datetime.now(UTC).date().isoformat()}
        line["machine"] = machine()
        print(json.dumps(line), flush=True)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.system(),
        "load_1min": round(os.getloadavg()[0], 2),
    }


# ------------------------------------------------------------------------------------------ simulators


@dataclass
class Sim:
    """A simulator in its own process, and how much of its request log has been taken."""

    name: str
    kind: str
    process: SimProcess
    cursor: int = 0

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def credentials(self) -> dict[str, Any]:
        return self.process.credentials

    def take_log(self) -> list[LogEntry]:
        """The requests seen since the last take."""
        entries = self.process.log(self.cursor)
        self.cursor += len(entries)
        return entries

    def settings(self, **extra: Any) -> dict[str, Any]:
        """A ``[systems.<name>]`` table for this simulator."""
        return {"kind": self.kind, "url": self.url, **self.credentials, **extra}


@contextmanager
def simulators(args: argparse.Namespace | None = None, **specs: dict[str, Any]) -> Iterator[dict[str, Sim]]:
    """Start one simulator per ``name=options`` (``kind`` defaults to the name; ``seed``, ``rpm``, ``latency``,
    ``prepare`` and size options as in sim_process), each in a process of its own; ``args.rpm`` and
    ``args.latency`` apply to those that do not set their own."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH")])),
    }
    sims: dict[str, Sim] = {}
    try:
        for name, spec in specs.items():
            options = dict(spec)
            kind = options.pop("kind", name)
            options.setdefault("rpm", getattr(args, "rpm", None))
            options.setdefault("latency", getattr(args, "latency", 0.0))
            sims[name] = Sim(name, kind, start(kind, control=True, env=env, **options))
        yield sims
    finally:
        for sim in sims.values():
            sim.process.stop()


# ------------------------------------------------------------------------------------------ measuring


def _status_kib(key: str) -> int:
    for text in Path("/proc/self/status").read_text().splitlines():
        if text.startswith(key + ":"):
            return int(text.split()[1])
    raise KeyError(key)


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0); False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float:
    try:
        return _status_kib("VmHWM") / 1024
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    try:
        return _status_kib("VmRSS") / 1024
    except (OSError, KeyError):
        return 0.0


def write_bytes() -> int:
    for text in Path("/proc/self/io").read_text().splitlines():
        if text.startswith("write_bytes:"):
            return int(text.split()[1])
    return 0


@dataclass
class ProcessRun:
    """A bridge subprocess that ran to its end: exit code, output and its own resource usage."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float
    peak_rss_mib: float


def run_process(
    argv: Sequence[str], *, cwd: Path, timeout: float = 1800, env: dict[str, str] | None = None
) -> ProcessRun:
    """Run ``argv`` to its end and take its CPU and peak memory from ``os.wait4``: that child's alone."""
    out_path, err_path = cwd / f".out-{os.getpid()}", cwd / f".err-{os.getpid()}"
    with out_path.open("w") as out, err_path.open("w") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, cwd=cwd, env=env, text=True)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                raise TimeoutError(f"{argv[0]} ran longer than {timeout} s")
            time.sleep(0.005)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = out_path.read_text(), err_path.read_text()
    out_path.unlink()
    err_path.unlink()
    return ProcessRun(proc.returncode, stdout, stderr, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


@dataclass
class Phase:
    """The figures of one measured stretch of work (filled in when :func:`measure` ends)."""

    sims: dict[str, Sim]
    store: bool
    wall_s: float = 0.0
    bridge_cpu_s: float = 0.0
    peak_rss_mib: float = 0.0
    rss_start_mib: float = 0.0
    simulator_cpu_s: dict[str, float] = field(default_factory=dict)
    store_write_bytes: int = 0
    #: per system, how often each distinct request was logged (most are alike: a migration's 30,000 creates are
    #: one entry): the raw log of a large phase is tens of MB the next phase would start with in this process
    log: dict[str, Counter[LogEntry]] = field(default_factory=dict)
    process: ProcessRun | None = None

    def run(
        self, argv: Sequence[str], *, cwd: Path, timeout: float = 1800, env: dict[str, str] | None = None
    ) -> ProcessRun:
        """Run the bridge as a subprocess inside this phase: its CPU and memory are the phase's."""
        self.process = run_process(argv, cwd=cwd, timeout=timeout, env=env)
        return self.process

    def requests(self) -> dict[str, int]:
        return {name: sum(entries.values()) for name, entries in self.log.items()}

    def throttled(self) -> dict[str, int]:
        return {name: sum(n for e, n in entries.items() if e[3] == 429) for name, entries in self.log.items()}

    def routes(self, name: str) -> Counter[str]:
        """Requests per ``METHOD route`` (TestRail's route is the API method in the query string)."""
        out: Counter[str] = Counter()
        for (method, path, query, _), n in self.log[name].items():
            route = query.split("/api/v2/")[1].split("/")[0].split("&")[0] if "/api/v2/" in query else path
            out[f"{method} {route}"] += n
        return out

    def figures(self, *, cases: int, min_requests: dict[str, int] | None = None, **extra: Any) -> dict[str, Any]:
        bridge_cpu = self.process.cpu_s if self.process else self.bridge_cpu_s
        out: dict[str, Any] = {
            "cases": cases,
            "requests": self.requests(),
            "min_requests": min_requests or {},
            "throttled": self.throttled(),
            "wall_s": round(self.wall_s, 3),
            "bridge_cpu_s": round(bridge_cpu, 3),
            "bridge_cpu_ms_per_case": round(1000 * bridge_cpu / cases, 4) if cases else None,
            "peak_rss_mib": round(self.process.peak_rss_mib if self.process else self.peak_rss_mib, 1),
            "rss_start_mib": None if self.process else round(self.rss_start_mib, 1),
            "simulator_cpu_s": round(sum(self.simulator_cpu_s.values()), 3),
        }
        if self.store:
            out["store_bytes_per_case"] = round(self.store_write_bytes / cases) if cases else None
        out.update(extra)
        return out


@contextmanager
def measure(sims: dict[str, Sim], *, store: Any = None, profile: Path | None = None) -> Iterator[Phase]:
    """Measure the work inside the block (see the module docstring for how each figure is taken).

    ``store``: the :class:`~mappings.store.Store` the phase writes, so its disk writes are reported per case.
    The phase ends with a checkpoint of the store's write-ahead log: pages a phase wrote to the log reach the
    database file at a checkpoint, which SQLite runs when the log has grown past 1,000 pages or the last
    connection closes, so without it part of a phase's writes would be counted in the next phase, or in none.
    ``profile``: sample the phase's CPU into this file (see :func:`profiled`).
    """
    phase = Phase(sims, store is not None)
    for sim in sims.values():
        sim.take_log()  # whatever came before belongs to no phase
    sim_cpu = {name: sim.process.cpu_seconds() for name, sim in sims.items()}
    with profiled(profile):
        reset_peak_rss()
        phase.rss_start_mib = rss_mib()
        io0, cpu0, t0 = write_bytes(), time.process_time(), time.perf_counter()
        yield phase
        if store is not None:
            checkpoint(store)
        phase.wall_s = phase.process.wall_s if phase.process else time.perf_counter() - t0
        phase.bridge_cpu_s = time.process_time() - cpu0
        phase.store_write_bytes = write_bytes() - io0
        phase.peak_rss_mib = peak_rss_mib()
    phase.simulator_cpu_s = {name: sim.process.cpu_seconds() - sim_cpu[name] for name, sim in sims.items()}
    phase.log = {name: Counter(sim.take_log()) for name, sim in sims.items()}


def checkpoint(store: Any) -> None:
    """Copy a SQLite store's write-ahead log into its database file now (nothing for other databases)."""
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def pages(items: int, page_size: int, *, says_when_done: bool = True) -> int:
    """Requests a full listing of ``items`` costs at ``page_size`` (an empty listing still costs one).

    ``says_when_done``: the answer tells whether more pages follow (TestRail's ``_links.next``); without that
    (a plain offset and limit, TestPlanIt) only a short page ends the listing, so a full last page costs one
    more, empty, request.
    """
    if says_when_done:
        return max(1, math.ceil(items / page_size))
    return items // page_size + 1


def route_lines(phase: Phase, indent: str = "    ") -> list[str]:
    """Per system, its requests by route, most frequent first (where a surplus over the minimum comes from)."""
    return [
        f"{indent}{name}: " + ", ".join(f"{route} {n}" for route, n in phase.routes(name).most_common())
        for name in phase.log
        if phase.log[name]
    ]


def summary(label: str, figures: dict[str, Any], process: str = "bridge") -> str:
    """One table line of the usual figures (``process``: whose CPU and memory they are)."""
    req = ", ".join(
        f"{name} {n}" + (f" (min {figures['min_requests'][name]})" if name in figures["min_requests"] else "")
        for name, n in figures["requests"].items()
    )
    text = (
        f"{label}: requests {req}; wall {figures['wall_s']:.2f} s, {process} CPU {figures['bridge_cpu_s']:.2f} s "
        f"({figures['bridge_cpu_ms_per_case']} ms/case), peak RSS {figures['peak_rss_mib']:.0f} MiB, "
        f"simulators' CPU {figures['simulator_cpu_s']:.2f} s"
    )
    if "store_bytes_per_case" in figures:
        text += f", store writes {figures['store_bytes_per_case']} B/case"
    if any(figures["throttled"].values()):
        text += f", throttled {figures['throttled']}"
    return text
