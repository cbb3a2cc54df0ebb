"""Serve a simulator in a process of its own (its state then outlives a killed client).

    python tests/e2e/sim_process.py KIND [--seed N] [name=value ...]

``name=value`` pairs are the simulator's size options (integers), e.g. ``cases=2000 sections=20``. The first
stdout line is the simulator contract's JSON: ``{"system", "url", "credentials"}``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any


@dataclass
class SimProcess:
    proc: subprocess.Popen[str]
    info: dict[str, Any]

    @property
    def url(self) -> str:
        return str(self.info["url"])

    @property
    def credentials(self) -> dict[str, Any]:
        return dict(self.info["credentials"])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start(kind: str, seed: int | None = None, **sizes: int) -> SimProcess:
    args = [sys.executable, __file__, kind] + (["--seed", str(seed)] if seed is not None else [])
    args += [f"{k}={v}" for k, v in sizes.items()]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError(f"the {kind} simulator did not start")
    return SimProcess(proc, json.loads(line))


def main(argv: list[str]) -> None:
    from adapters.registry import simulator_class
    from adapters.simulation import serve_forever

    kind, rest = argv[0], argv[1:]
    seed = None
    options: dict[str, int] = {}
    while rest:
        item = rest.pop(0)
        if item == "--seed":
            seed = int(rest.pop(0))
        else:
            name, _, value = item.partition("=")
            options[name] = int(value)
    serve_forever(simulator_class(kind)(seed=seed, **options), 0)


if __name__ == "__main__":
    main(sys.argv[1:])
