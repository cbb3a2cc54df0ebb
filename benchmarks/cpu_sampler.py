"""A CPU profiler for a threaded process: stacks sampled in-process, weighted by the CPU each thread used.

Every ``interval`` seconds a sampler thread reads each thread's CPU clock (``pthread_getcpuclockid``) and
charges the CPU it used since the last sample to the stack it is on now. A thread waiting on the network or a
lock uses no CPU, so waits cost nothing (samplers that count stacks cannot tell a waiting thread from a busy
one); C code that lets go of the GIL (SQLite, sockets) is charged to the Python frame that called it; and
the sampler's own CPU is not counted. CPU is charged one sample late: the CPU a thread used between two
samples goes to where the later one saw it, unless the thread used no CPU after it (then it was waiting
there, a lock or a socket, and the CPU went into getting there from where the earlier sample saw it). Without
that, short bursts of work that end in a wait are charged to the wait. The sampler needs the GIL to read the
stacks, so it cannot sample more often than the GIL changes hands: ``harness.profiled`` lowers
``sys.setswitchinterval`` while it runs.

The result is written as collapsed stacks, one line each: ``outer;...;inner MICROSECONDS``, a frame being
``qualified_name (module/path.py:first_line)``; ``python benchmarks/profile_top.py FILE`` summarises it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from types import FrameType


@dataclass
class _Thread:
    cpu: float  # its CPU clock at the last sample
    stack: str  # where the last sample saw it
    before: str = ""  # where the sample before saw it
    pending: float = 0.0  # CPU seconds used up to the last sample, not charged yet


class CpuSampler:
    def __init__(self, interval: float = 0.002, root: Path | None = None) -> None:
        self.interval = interval
        self.root = str(root or Path(__file__).resolve().parents[1]) + "/"
        self.stacks: dict[str, float] = defaultdict(float)  # stack -> CPU microseconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        self._names: dict[object, str] = {}

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def write(self, path: Path) -> None:
        path.write_text("".join(f"{stack} {round(us)}\n" for stack, us in self.stacks.items()))

    def _run(self) -> None:
        me = threading.get_ident()
        threads: dict[int, _Thread] = {}
        while not self._stop.wait(self.interval):
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                try:
                    cpu = time.clock_gettime(time.pthread_getcpuclockid(ident))
                except (OSError, ValueError):  # the thread ended meanwhile
                    continue
                seen = threads.get(ident)
                if seen is None:
                    threads[ident] = _Thread(cpu, self._stack(frame))
                    continue
                self._charge(seen, cpu - seen.cpu, self._stack(frame))
                seen.cpu = cpu
        for seen in threads.values():
            if seen.pending:
                self.stacks[seen.stack] += seen.pending * 1e6

    def _charge(self, seen: _Thread, used: float, stack: str) -> None:
        """Charge the CPU used before the previous sample, now that we know whether the thread ran after it.

        If it used no CPU since, it was waiting at the previous sample (a lock, a socket): the CPU it used
        before went into getting there from where the sample before saw it, so that stack gets it. Otherwise
        the previous sample caught it working, and its stack gets it.
        """
        if seen.pending:
            where = seen.before if used <= 0 and seen.before else seen.stack
            self.stacks[where] += seen.pending * 1e6
        seen.pending, seen.before, seen.stack = used, seen.stack, stack

    def _stack(self, frame: FrameType | None) -> str:
        names = []
        while frame is not None:
            code = frame.f_code
            name = self._names.get(code)
            if name is None:
                name = self._names[code] = f"{code.co_qualname} ({self._short(code.co_filename)}:{code.co_firstlineno})"
            names.append(name)
            frame = frame.f_back
        return ";".join(reversed(names))

    def _short(self, file: str) -> str:
        """A file as its module path: after site-packages, the repository, or the standard library's folder."""
        if "site-packages/" in file:
            return file.split("site-packages/", 1)[1]
        if file.startswith(self.root):
            return file[len(self.root) :]
        if "/lib/python3." in file:
            return file.split("/lib/python3.", 1)[1].split("/", 1)[-1]
        return file
