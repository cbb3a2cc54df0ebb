"""Helpers for the daemon tests: simulators on loopback, config files, daemon processes and their JSON logs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from adapters.registry import simulator_class
from adapters.simulation import Faults, Simulator

REPO = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Systems:
    sims: dict[str, Simulator]
    urls: dict[str, str]

    def table(self, name: str, kind: str, **extra: Any) -> str:
        sim = self.sims[name]
        values: dict[str, Any] = {"kind": kind, "url": self.urls[name], **sim.credentials(), **extra}
        return f"[systems.{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


@contextmanager
def simulators(specs: dict[str, tuple[str, dict[str, Any]]]) -> Iterator[Systems]:
    """{name: (kind, simulator kwargs)} served on loopback for the whole block."""
    with ExitStack() as stack:
        sims: dict[str, Simulator] = {}
        urls: dict[str, str] = {}
        for name, (kind, kwargs) in specs.items():
            sim = simulator_class(kind)(**kwargs)
            server = stack.enter_context(sim.serve())
            sims[name], urls[name] = sim, server.url
        yield Systems(sims, urls)


def write_config(
    path: Path,
    *,
    store_url: str,
    systems: str,
    jobs: list[dict[str, Any]],
    http_port: int | None = 0,
    max_backoff: str = "1h",
) -> Path:
    lines = [
        "[store]",
        f"url = {json.dumps(store_url)}",
        "[logging]",
        'format = "json"',
        'level = "info"',
        "[daemon]",
        f"max_backoff = {json.dumps(max_backoff)}",
    ]
    if http_port is not None:
        lines.append(f"http_port = {http_port}")
    text = "\n".join(lines) + "\n" + systems
    for job in jobs:
        text += "[[jobs]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in job.items())
    path.write_text(text)
    return path


@dataclass
class DaemonProc:
    proc: subprocess.Popen[bytes]
    log_path: Path
    _offset: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    _terminated: bool = False

    def read_events(self) -> list[dict[str, Any]]:
        """All JSON log lines so far (non-JSON lines are kept as {"raw": line})."""
        data = self.log_path.read_bytes()
        chunk, self._offset = data[self._offset :], self._offset + len(data[self._offset :])
        # keep a trailing partial line for the next call
        if chunk and not chunk.endswith(b"\n"):
            cut = chunk.rfind(b"\n") + 1
            self._offset -= len(chunk) - cut
            chunk = chunk[:cut]
        for line in chunk.decode(errors="replace").splitlines():
            if line.strip():
                try:
                    self.events.append(json.loads(line))
                except json.JSONDecodeError:
                    self.events.append({"raw": line})
        return self.events

    def wait_for(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            events = self.read_events()
            for ev in events[seen:]:
                if pred(ev):
                    return ev
            seen = len(events)
            if self.proc.poll() is not None:
                self.read_events()
                raise AssertionError(f"daemon exited ({self.proc.returncode}) while waiting; log:\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for a log event; log:\n{self.log_text()}")
            time.sleep(0.05)

    def event(self, name: str, timeout: float = 20, **fields: Any) -> dict[str, Any]:
        def match(e: dict[str, Any]) -> bool:
            return e.get("event") == name and all(e.get(k) == v for k, v in fields.items())

        return self.wait_for(match, timeout)

    def count(self, name: str, **fields: Any) -> int:
        return sum(
            1 for e in self.read_events() if e.get("event") == name and all(e.get(k) == v for k, v in fields.items())
        )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    @property
    def http_port(self) -> int:
        return int(self.event("daemon started")["http_port"])

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.http_port}{path}", timeout=10)

    def signal(self, sig: int) -> None:
        if sig == signal.SIGTERM:
            self._terminated = True
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None and not self._terminated:
            # once only: a second SIGTERM during interpreter shutdown meets the default handler
            self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError(f"daemon did not stop within {timeout}s; log:\n{self.log_text()}") from None


def run_cli(args: list[str], *, log_path: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    out = log_path.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "bridge", *args], cwd=REPO, stdout=out, stderr=out, env=env, **kwargs
    )


@contextmanager
def daemon(config: Path, log_path: Path, *extra: str) -> Iterator[DaemonProc]:
    """A daemon process for the block; killed at the end if the test did not stop it."""
    proc = run_cli(["daemon", "--config", str(config), *extra], log_path=log_path)
    d = DaemonProc(proc, log_path)
    try:
        yield d
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def slow(latency: float) -> Faults:
    return Faults(latency=latency)
