"""CLI commands around the sync engine: sync, migrate, conflicts, status."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from bridge.cliargs import ConfigOption
from bridge.config import Config, Job, load_config
from bridge.errors import ConfigError, JobBusy, RemoteError
from bridge.logs import configure_logging
from bridge.output import (
    JsonOpt,
    OutputOpt,
    arrow,
    emit,
    err_console,
    report_dict,
    run_dict,
    stdout_console,
    wants_json,
)

if TYPE_CHECKING:
    from bridge.sync.report import SyncReport
    from mappings.store import Store

console = stdout_console()
COLUMNS = (
    "created",
    "updated",
    "unchanged",
    "linked",
    "differed",
    "adopted",
    "deleted",
    "unlinked",
    "skipped",
    "errors",
)


def load(config_path: Path) -> tuple[Config, Store]:
    # the engine and SQLAlchemy load only for commands that use them (a CI push starts faster)
    from mappings.store import Store

    cfg = load_config(config_path)
    fmt = cfg.logging.format
    configure_logging(cfg.logging.level, json_lines=None if fmt == "auto" else fmt == "json")
    return cfg, Store(cfg.store.url)


def run_job(
    cfg: Config,
    job: Job,
    store: Store,
    *,
    dry_run: bool,
    kind: str = "sync",
    workers: int = 4,
    overwrite: bool = False,
    wait: bool = False,
) -> SyncReport:
    """Run one job; a real run holds the job's run lock (:mod:`bridge.runlock`): busy raises JobBusy."""
    if dry_run:  # writes nothing: it need not wait for, nor keep out, a real run
        return _run_job(cfg, job, store, dry_run=dry_run, kind=kind, workers=workers, overwrite=overwrite)
    from bridge.runlock import job_run

    def waiting(holder: str) -> None:
        err_console.print(f"job {job.name} is running in {holder}; waiting for it to finish", markup=False)

    with job_run(store, job.name, wait=wait, on_wait=waiting) as left_behind:
        for run in left_behind:
            err_console.print(
                f"note: run {run.id} of job {job.name} was left running by {run.instance} (stopped without "
                f"finishing; last seen {run.finished_at:%Y-%m-%d %H:%M:%S} UTC): recorded as aborted",
                markup=False,
            )
        return _run_job(cfg, job, store, dry_run=dry_run, kind=kind, workers=workers, overwrite=overwrite)


def _run_job(
    cfg: Config, job: Job, store: Store, *, dry_run: bool, kind: str, workers: int, overwrite: bool
) -> SyncReport:
    from adapters.registry import open_adapters, plan_tasks_opener
    from bridge.memory import give_back_freed_memory, run_collection
    from bridge.progress import progress_hook
    from bridge.sync.engine import JobRunner, SyncReport

    try:
        adapters = open_adapters(cfg, [job.left, job.right], job, read_only=dry_run, store=store)
    except RemoteError as exc:
        # a system that cannot be reached still makes a run in the history (status and back-off read it)
        report = SyncReport(job.name, job.left, job.right, dry_run, status="failed")
        report.errors.append(str(exc))
        if not dry_run:
            run = store.start_run(job.name, kind=kind)
            report.run_id = store.finish_run(run, status="failed", counts={}, errors=report.errors).id
        return report
    try:
        with progress_hook() as hook, run_collection():
            report = JobRunner(
                cfg,
                job,
                store,
                adapters=adapters,
                dry_run=dry_run,
                progress=hook,
                kind=kind,
                workers=workers,
                open_plan_tasks=plan_tasks_opener(cfg),
                overwrite=overwrite,
            ).run()
    finally:
        for adapter in adapters.values():
            adapter.close()
    give_back_freed_memory()  # the runner, and every record it held, is gone now
    return report


def print_report(report: SyncReport, *, show_actions: bool, direction: str = "both") -> None:
    from bridge.sync.report import action_lines

    title = f"job {report.job}: {report.left} {arrow(direction)} {report.right}" + (
        " (dry run: nothing written)" if report.dry_run else ""
    )
    table = Table(title=title, title_justify="left")
    table.add_column("system")
    table.add_column("entity")
    # only the columns that have something to say: the table stays readable in 80 columns
    columns = [c for c in COLUMNS if any(counts.get(c) for counts in report.counts.values())] or ["unchanged"]
    for col in columns:
        table.add_column(col, justify="right")
    for (system, entity), counts in sorted(report.counts.items()):
        table.add_row(system, entity, *(str(counts.get(c, 0) or "") for c in columns))
    if not report.counts:
        table.add_row("-", "-", *("" for _ in columns))
    console.print(table)
    if show_actions:
        for a in report.actions:
            for line in action_lines(a, would=report.dry_run):
                console.print(line, markup=False, highlight=False, soft_wrap=True)
    opened, closed = report.conflicts_opened, report.conflicts_closed
    by_entity = ", ".join(f"{entity} {n}" for entity, n in sorted(report.conflicts_open.items()))
    console.print(
        f"  conflicts: {sum(report.conflicts_open.values())} open"
        + (f" ({by_entity})" if by_entity else "")
        + (
            f"; this run would open {opened} and close {closed}"
            if report.dry_run
            else f"; {opened} new, {closed} closed by this run"
        )
        + (f" (testplan-bridge conflicts list --job {report.job})" if report.conflicts_open else ""),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    for note in report.notes:
        console.print(f"  note: {note}", markup=False)
    for err in report.errors[:20]:
        console.print(f"  error: {err}", markup=False, highlight=False)
    if len(report.errors) > 20:
        console.print(f"  ... and {len(report.errors) - 20} more errors (see the run history: testplan-bridge status)")
    console.print(f"  status: {report.status}" + (f", run {report.run_id}" if report.run_id else ""))


def register(app: typer.Typer) -> None:
    @app.command()
    def sync(
        config: ConfigOption,
        jobs: Annotated[list[str] | None, typer.Argument(help="Jobs to run (default: all)")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Show every planned change; write nothing")] = False,
        workers: Annotated[int, typer.Option(help="Records written in parallel per job")] = 4,
        wait: Annotated[bool, typer.Option("--wait", help="If a job is running elsewhere, wait for it")] = False,
        output: OutputOpt = "text",
        json_: JsonOpt = False,
    ) -> None:
        """Run sync jobs once. Exit 1 when a job had errors, else 4 when one was running elsewhere (see --wait)."""
        as_json = wants_json(output, json_)
        cfg, store = load(config)
        selected = [cfg.job(name) for name in jobs] if jobs else cfg.jobs
        if not selected:
            raise ConfigError(
                f"{cfg.source}: no [[jobs]] defined", hint="Add a [[jobs]] table (see config.example.toml)."
            )
        failed = False
        reports: list[dict[str, object]] = []
        busy: list[dict[str, str]] = []
        for job in selected:
            try:
                report = run_job(cfg, job, store, dry_run=dry_run, workers=workers, wait=wait)
            except JobBusy as exc:  # the other jobs still run: one job busy elsewhere holds none of them up
                err_console.print(f"error: {exc}", markup=False, highlight=False)
                busy.append({"job": job.name, "message": str(exc)})
                continue
            if as_json:
                reports.append(report_dict(report, job.direction))
            else:
                print_report(report, show_actions=dry_run, direction=job.direction)
            failed = failed or report.status != "ok"
        code = 1 if failed else 4 if busy else 0
        if as_json:
            emit("sync", {"exit_code": code, "reports": reports, "busy": busy})
        raise typer.Exit(code)

    @app.command()
    def migrate(
        config: ConfigOption,
        source: Annotated[str, typer.Option("--from", help="System to copy from")],
        target: Annotated[str, typer.Option("--to", help="System to copy to")],
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be copied; write nothing")] = False,
        resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted migration")] = False,
        overwrite: Annotated[
            bool,
            typer.Option(
                "--overwrite",
                help="Records already on the target that match one of the source but differ take the source's "
                "values (default: each difference is a conflict, and the target keeps its value)",
            ),
        ] = False,
        workers: Annotated[int, typer.Option(help="Records written in parallel")] = 4,
        wait: Annotated[bool, typer.Option("--wait", help="If the job is running elsewhere, wait for it")] = False,
        output: OutputOpt = "text",
        json_: JsonOpt = False,
    ) -> None:
        """One-way full copy of folders, cases, plans and results, recorded as links.

        When a job in the config connects the two systems, the links are that job's, so a later two-way sync
        continues from the migration instead of matching everything again.
        """
        as_json = wants_json(output, json_)
        cfg, store = load(config)
        job = migration_job(cfg, source, target)
        previous = store.runs(job=job.name, limit=1)
        if previous and previous[0].kind == "migrate" and previous[0].status != "ok" and not resume and not dry_run:
            raise ConfigError(
                f"the last migration {source} -> {target} (run {previous[0].id}) did not finish ({previous[0].status})",
                hint="Run again with --resume to continue it: records already copied are not copied twice.",
            )
        report = run_job(
            cfg, job, store, dry_run=dry_run, kind="migrate", workers=workers, overwrite=overwrite, wait=wait
        )
        code = 0 if report.status == "ok" else 1
        if as_json:
            emit(
                "migrate",
                {
                    "exit_code": code,
                    "from": source,
                    "to": target,
                    "overwrite": overwrite,
                    "report": report_dict(report, job.direction),
                    "entities": migration_counts(report, target),
                },
            )
            raise typer.Exit(code)
        print_report(report, show_actions=dry_run, direction=job.direction)
        console.print(
            migration_summary(report, source, target, overwrite=overwrite),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code)

    @app.command()
    def demo(
        workdir: Annotated[
            Path | None, typer.Option(help="Folder for the demo's store (default: a new temp folder)")
        ] = None,
    ) -> None:
        """Start the three simulators with seeded data and show a two-way sync, edits and a conflict."""
        from bridge.demo import run_demo

        configure_logging("warning")
        raise typer.Exit(run_demo(workdir))

    from bridge.conflict_commands import register as register_conflicts

    register_conflicts(app)

    @app.command()
    def status(
        config: ConfigOption,
        runs: Annotated[int, typer.Option("--runs", "-n", min=1, help="Show the last N runs of each job")] = 1,
        output: OutputOpt = "text",
        json_: JsonOpt = False,
    ) -> None:
        """Last runs (with their errors) and open conflicts per job."""
        cfg, store = load(config)
        if wants_json(output, json_):
            emit("status", status_document(cfg, store, runs))
            return
        if runs > 1:
            print_run_history(cfg, store, runs)
            return
        table = Table(title="jobs", title_justify="left")
        for col in ("job", "systems", "last run", "status", "duration", "links", "open conflicts", "last success"):
            table.add_column(col)
        configured = {j.name: j for j in cfg.jobs}
        open_by_job = {job: sum(by_entity.values()) for job, by_entity in store.conflict_counts().items()}
        names = job_names(cfg, store)
        for name in names:
            latest = store.runs(job=name, limit=1)
            last = latest[0] if latest else None
            ok = store.last_success(name)
            job = configured.get(name)
            table.add_row(
                name,
                f"{job.left} {arrow(job.direction)} {job.right}" if job else "",
                f"{last.started_at:%Y-%m-%d %H:%M:%S}" if last else "never",
                last.status if last else "",
                f"{last.duration_s:.1f}s" if last and last.duration_s is not None else "",
                str(store.link_count(name)),
                str(open_by_job.get(name, 0)),
                f"{ok.started_at:%Y-%m-%d %H:%M:%S}" if ok else "",
            )
        console.print(table)
        for name in names:
            runs_ = store.runs(job=name, limit=1)
            for err in (runs_[0].errors or [])[:5] if runs_ else []:
                console.print(f"  {name}: error: {err}", markup=False, highlight=False, soft_wrap=True)


def job_names(cfg: Config, store: Store) -> list[str]:
    """Configured jobs first, then jobs only the run history knows (migrations, removed jobs)."""
    known = [j.name for j in cfg.jobs]
    return known + sorted({r.job for r in store.runs(limit=200)} - set(known))


def status_document(cfg: Config, store: Store, runs: int) -> dict[str, object]:
    open_by_job = {job: sum(by_entity.values()) for job, by_entity in store.conflict_counts().items()}
    configured = {j.name: j for j in cfg.jobs}
    jobs = []
    for name in job_names(cfg, store):
        job = configured.get(name)
        ok = store.last_success(name)
        jobs.append(
            {
                "name": name,
                "left": job.left if job else None,
                "right": job.right if job else None,
                "direction": arrow(job.direction) if job else None,
                "schedule": job.schedule if job else None,
                "links": store.link_count(name),
                "open_conflicts": open_by_job.get(name, 0),
                "last_success": run_dict(ok)["started_at"] if ok else None,
                "runs": [run_dict(r) for r in store.runs(job=name, limit=runs)],
            }
        )
    return {"jobs": jobs}


def print_run_history(cfg: Config, store: Store, runs: int) -> None:
    """The last ``runs`` runs of each job, each with its counts and errors."""
    for name in job_names(cfg, store):
        table = Table(title=f"job {name}: last {runs} run(s)", title_justify="left")
        for col in ("run", "kind", "started", "status", "duration", "counts", "errors"):
            table.add_column(col)
        history = store.runs(job=name, limit=runs)
        for r in history:
            counts = ", ".join(
                f"{key} " + " ".join(f"{k}={v}" for k, v in sorted(c.items()) if v)
                for key, c in sorted((r.counts or {}).items())
                if isinstance(c, dict) and any(c.values())
            )
            table.add_row(
                str(r.id),
                r.kind + (" (dry)" if r.dry_run else ""),
                f"{r.started_at:%Y-%m-%d %H:%M:%S}",
                r.status,
                f"{r.duration_s:.1f}s" if r.duration_s is not None else "",
                counts,
                str(len(r.errors or [])),
            )
        console.print(table)
        for r in history:
            for err in (r.errors or [])[:10]:
                console.print(f"  run {r.id}: error: {err}", markup=False, highlight=False, soft_wrap=True)


def migration_job(cfg: Config, source: str, target: str) -> Job:
    """The job whose links a migration records: the config's job for the pair, oriented one way."""
    cfg.system(source)
    cfg.system(target)
    if source == target:
        raise ConfigError("--from and --to must name two different systems")
    for job in cfg.jobs:
        if {job.left, job.right} == {source, target}:
            direction = "left-to-right" if job.left == source else "right-to-left"
            # a policy of the two-way job (left-wins, field owners) does not decide a migration's differences:
            # they are conflicts, or the source's with --overwrite
            return job.model_copy(
                update={"direction": direction, "deletions": "unlink", "conflict_policy": "manual", "field_owners": {}}
            )
    return Job(name=f"migrate-{source}-{target}", left=source, right=target, direction="left-to-right")


def migration_counts(report: SyncReport, target: str) -> dict[str, dict[str, int]]:
    """Per entity: records already on the target that matched one of the source, how many of those
    differed, and how many were created on the target."""
    out = {}
    for entity in ("folder", "case", "plan", "result"):
        out[entity] = {
            "matched": sum(c.get("linked", 0) for (_s, e), c in report.counts.items() if e == entity),
            "differed": sum(c.get("differed", 0) for (_s, e), c in report.counts.items() if e == entity),
            "created": sum(c.get("created", 0) for (s, e), c in report.counts.items() if e == entity and s == target),
        }
    return out


def migration_summary(report: SyncReport, source: str, target: str, *, overwrite: bool) -> str:
    """How many records already on the target matched one of the source, how many of those differed, and
    how many were created."""
    parts = []
    for entity, n in migration_counts(report, target).items():
        matched, differed, created = n["matched"], n["differed"], n["created"]
        if matched or created:
            what = "taken from the source" if overwrite else "left as they are, each difference a conflict"
            parts.append(
                f"{entity}s: {matched} matched"
                + (f" ({differed} differed: {what})" if differed else "")
                + f", {created} created"
            )
    verb = "would migrate" if report.dry_run else "migrated"
    return f"  {verb} {source} -> {target}: " + ("; ".join(parts) if parts else "nothing to copy")
