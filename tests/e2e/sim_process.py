"""Serve a simulator in a process of its own (its state then outlives a killed client).

    python tests/e2e/sim_process.py KIND [--seed N] [--rpm N] [--latency S] [--prepare MODULE:FUNCTION]
                                         [--control] [name=value ...]

``name=value`` pairs are the simulator's size options (integers), e.g. ``cases=2000 sections=20``. ``--rpm``
and ``--latency`` are the same knobs as ``testplan-bridge simulate``: a rate limit answered with the system's
429 and Retry-After, and seconds added to every request. ``--prepare`` calls ``FUNCTION(simulator)`` before
serving (benchmarks use it to shape seeded data). The first stdout line is the simulator contract's JSON:
``{"system", "url", "credentials"}``.

With ``--control`` the process reads commands on stdin, one a line, and answers each with one JSON line:
``log FROM`` -> the request log from entry FROM on, ``[[method, path, query, status], ...]``. The process ends
when stdin closes. Its CPU time is read from ``/proc`` by :meth:`SimProcess.cpu_seconds`, so asking costs the
simulator nothing.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any


@dataclass
class SimProcess:
    proc: subprocess.Popen[str]
    info: dict[str, Any]
    control: bool = False

    @property
    def url(self) -> str:
        return str(self.info["url"])

    @property
    def credentials(self) -> dict[str, Any]:
        return dict(self.info["credentials"])

    def log(self, start: int = 0) -> list[tuple[str, str, str, int]]:
        """The requests the simulator saw, from entry ``start`` on (needs ``control=True``)."""
        if not self.control or self.proc.stdin is None or self.proc.stdout is None:
            raise RuntimeError("start the simulator with control=True to read its log")
        self.proc.stdin.write(f"log {start}\n")
        self.proc.stdin.flush()
        return [tuple(e) for e in json.loads(self.proc.stdout.readline())]  # type: ignore[misc]

    def cpu_seconds(self) -> float:
        """User + system CPU the simulator's process has used so far (utime and stime of /proc/PID/stat)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            # the command name (field 2) may hold spaces: count the fields after its closing parenthesis
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.control and self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start(
    kind: str,
    seed: int | None = None,
    *,
    rpm: int | None = None,
    latency: float = 0.0,
    prepare: str | None = None,
    control: bool = False,
    env: dict[str, str] | None = None,
    **sizes: int,
) -> SimProcess:
    args = [sys.executable, __file__, kind] + (["--seed", str(seed)] if seed is not None else [])
    args += (["--rpm", str(rpm)] if rpm else []) + (["--latency", str(latency)] if latency else [])
    args += (["--prepare", prepare] if prepare else []) + (["--control"] if control else [])
    args += [f"{k}={v}" for k, v in sizes.items()]
    stdin = subprocess.PIPE if control else None
    proc = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError(f"the {kind} simulator did not start")
    return SimProcess(proc, json.loads(line), control)


def main(argv: list[str]) -> None:
    from adapters.registry import simulator_class
    from adapters.simulation import Faults, LoopbackServer, serve_forever

    kind, rest = argv[0], argv[1:]
    seed = rpm = None
    latency = 0.0
    prepare: str | None = None
    control = False
    options: dict[str, int] = {}
    while rest:
        item = rest.pop(0)
        if item == "--seed":
            seed = int(rest.pop(0))
        elif item == "--rpm":
            rpm = int(rest.pop(0))
        elif item == "--latency":
            latency = float(rest.pop(0))
        elif item == "--prepare":
            prepare = rest.pop(0)
        elif item == "--control":
            control = True
        else:
            name, _, value = item.partition("=")
            options[name] = int(value)
    sim = simulator_class(kind)(seed=seed, faults=Faults(requests_per_minute=rpm, latency=latency), **options)
    if prepare:
        module, _, function = prepare.partition(":")
        getattr(importlib.import_module(module), function)(sim)
    if not control:
        serve_forever(sim, 0)
        return
    server = LoopbackServer(sim.app).start()
    print(json.dumps(sim.info(server.url)), flush=True)
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "log":
            entries = sim.log.entries[int(arg or 0) :]
            print(json.dumps([[e.method, e.path, e.query, e.status] for e in entries]), flush=True)
    server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
