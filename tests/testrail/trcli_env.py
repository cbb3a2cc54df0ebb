"""A private virtualenv holding TestRail's own CLI, ``trcli``, for conformance tests and benchmarks.

trcli pins its own dependencies (junitparser<4, click, ...) which must not constrain ours, so it lives in
a virtualenv of its own, created once and reused: ``~/.cache/testplan-bridge/trcli-<version>`` (or
``$TPB_CACHE_DIR/trcli-<version>``). Creation is guarded by a lock file so parallel test sessions do not
build it twice.

API::

    from tests.testrail.trcli_env import trcli_executable, run_trcli
    exe = trcli_executable()            # Path to bin/trcli, creating the venv on first use
    proc = run_trcli(["-h", url, ...])  # subprocess.CompletedProcess (text), never raises on exit code
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import venv
from pathlib import Path

TRCLI_VERSION = "1.15.3"


def cache_dir() -> Path:
    base = os.environ.get("TPB_CACHE_DIR") or str(Path.home() / ".cache" / "testplan-bridge")
    return Path(base)


def venv_dir(version: str = TRCLI_VERSION) -> Path:
    return cache_dir() / f"trcli-{version}"


def trcli_executable(version: str = TRCLI_VERSION) -> Path:
    """Path of the ``trcli`` script, creating (once) the virtualenv that holds it."""
    target = venv_dir(version)
    exe = target / "bin" / "trcli"
    ready = target / ".ready"
    if ready.exists() and exe.exists():
        return exe
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"trcli-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (ready.exists() and exe.exists()):
            venv.EnvBuilder(with_pip=True, clear=True).create(target)
            subprocess.run(
                [
                    str(target / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    f"trcli=={version}",
                ],
                check=True,
                timeout=600,
            )
            ready.write_text(version)
    return exe


def run_trcli(
    args: list[str], *, cwd: str | Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run trcli with ``args``; returns the completed process (check ``returncode`` yourself)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run(
        [str(trcli_executable()), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


if __name__ == "__main__":  # python -m tests.testrail.trcli_env: build the venv ahead of time
    print(trcli_executable())
    sys.exit(0)
