"""The sync engine: one pure merge over pluggable adapters, with the mapping store as its status table."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.config import Config

log = logging.getLogger("bridge.sync")


def propagate_results(config: Config, system_name: str, report: Any) -> dict[str, int]:
    """After a CI push to ``system_name``: run, for every job linking it to another system, the plan and
    result part of that job, so the new plan and its results reach the linked cases there.

    Jobs keep their direction and scope; a store that does not exist yet means nothing is linked (and it is
    not created by a CI push).
    """
    from bridge.model import Entity

    jobs = [j for j in config.jobs if system_name in (j.left, j.right) and Entity.RESULT in j.entities]
    url = config.store.url
    if not jobs or (url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists()):
        return {}
    # imported only now: a CI push with no linking job should not pay for loading the engine and SQLAlchemy
    from bridge.commands import run_job
    from bridge.errors import JobBusy
    from mappings.store import Store

    copied: dict[str, int] = {}
    store = Store(url)
    try:
        for job in jobs:
            if store.link_count(job.name) == 0:
                continue  # the job never ran: its cases are not linked, nothing can be placed
            partial = job.model_copy(update={"entities": [Entity.PLAN, Entity.RESULT]})
            try:
                sync_report = run_job(config, partial, store, dry_run=False)
            except JobBusy as exc:  # the job is running (the daemon): that run, or its next one, copies them
                log.info(
                    "results not propagated now: the job is running", extra={"job": job.name, "detail": exc.message}
                )
                continue
            other = job.right if job.left == system_name else job.left
            copied[f"{job.name} -> {other}"] = sum(
                c.get("created", 0) for (system, entity), c in sync_report.counts.items() if entity == "result"
            )
            for err in sync_report.errors:
                if hasattr(report, "errors"):
                    report.errors.append(f"propagating through job {job.name}: {err}")
    finally:
        store.close()
    if hasattr(report, "propagated"):
        report.propagated.update(copied)
    log.info("results propagated", extra={"system": system_name, "copied": copied})
    return copied
