"""``testplan-bridge simulate``: serve one simulator, and say on the first line what a config needs of it."""

from __future__ import annotations

import errno
import json
import sys
from typing import Any

from bridge.errors import ConfigError


def next_ids(system: str, sim: Any) -> dict[str, Any]:
    """The ids a user types into a config or a command next, read off the simulator's seeded data."""
    ids: dict[str, Any] = {}
    for attr in ("project_id", "perftest_project_id"):
        value = getattr(sim, attr, None)
        if value is not None:
            ids[attr] = value
    if system == "apptest":
        from adapters.apptest.simulator import PROJECTS

        # apptest.ai projects (pid): --project-id of ci apptest, or the system's project_id
        ids["apptest_projects"] = [{"id": pid, "name": name} for pid, name in sorted(PROJECTS.items())]
    if system == "testrail":
        project = getattr(sim, "project", None)
        if isinstance(project, dict) and "id" in project:
            ids["project_id"] = project["id"]
    return ids


def serve(system: str, port: int, *, seed: int | None, rpm: int | None, latency: float) -> None:
    from adapters.registry import SIMULATORS, simulator_class
    from adapters.simulation import Faults, LoopbackServer

    if system not in SIMULATORS:
        raise ConfigError(f"unknown system {system!r}; expected one of: {', '.join(SIMULATORS)}")
    sim = simulator_class(system)(seed=seed, faults=Faults(requests_per_minute=rpm, latency=latency))
    try:
        server = LoopbackServer(sim.app, port=port).start()
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise ConfigError(
                f"simulate {system}: cannot listen on 127.0.0.1:{port} ({exc.strerror}); "
                "pick a free one with --port, or --port 0 for any"
            ) from None
        raise
    print(json.dumps({**sim.info(server.url), "ids": next_ids(system, sim)}), flush=True)
    thread = server._thread
    try:
        while thread is not None and thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    sys.stdout.flush()
