"""``conflicts list|show|resolve`` and ``notes``: the conflict log as people read and decide it.

What a decision means for each kind of entry is :mod:`bridge.sync.resolutions`'; this module only reads the
command line, reaches the side whose own check a given value must pass, and prints.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from bridge.config import Config, Job
from bridge.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from bridge.errors import Unrepresentable
    from bridge.sync.merge import Side
    from mappings.store import Store
    from mappings.tables import Conflict

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Path of the TOML config file")]


def job_of(cfg: Config, entry: Conflict) -> Job:
    """The job an entry belongs to: a configured job, or the one a migration between two systems made."""
    from bridge.commands import migration_job

    for job in cfg.jobs:
        if job.name == entry.job:
            return job
    for source in cfg.systems:
        for target in cfg.systems:
            if source != target and entry.job == f"migrate-{source}-{target}":
                return migration_job(cfg, source, target)
    raise ConfigError(
        f"conflict {entry.id} belongs to job {entry.job!r}, which this config does not define",
        hint="Use the config the job ran with.",
    )


def side_check(cfg: Config, job: Job, entity: str, store: Store | None = None) -> Any:
    """``check(side, record)``: the problems the side's own adapter finds in ``record`` (it connects first:
    what a system can hold may depend on its set-up, such as TestRail's custom fields)."""

    def check(side: Side, record: BaseModel) -> list[Unrepresentable]:
        from adapters.registry import open_adapters

        name = job.left if side == "left" else job.right
        # with the store: a system whose mode depends on its links is checked in the mode its links are in
        adapter = open_adapters(cfg, [name], job, read_only=True, store=store)[name]
        try:
            if entity == "case":
                return adapter.check_case(record)  # type: ignore[arg-type]
            if entity == "plan":
                return adapter.check_plan(record)  # type: ignore[arg-type]
            return adapter.check_result(record)  # type: ignore[arg-type]
        finally:
            adapter.close()

    return check


def register(app: typer.Typer) -> None:
    from bridge.commands import console, load

    conflicts_app = typer.Typer(help="List, show and resolve conflicts.", no_args_is_help=True)
    app.add_typer(conflicts_app, name="conflicts")

    @conflicts_app.command("list")
    def conflicts_list(
        config: ConfigOption,
        job: Annotated[str | None, typer.Option(help="Only this job")] = None,
        all_: Annotated[bool, typer.Option("--all", help="Include resolved conflicts")] = False,
    ) -> None:
        """Open conflicts (with --all, resolved ones too)."""
        _cfg, store = load(config)
        rows = store.conflicts(job=job, open_only=not all_)
        table = Table(title=f"{len(rows)} conflict(s)" + ("" if all_ else " open"), title_justify="left")
        for col in ("id", "job", "entity", "kind", "record", "field", "status"):
            table.add_column(col)
        for c in rows:
            status = "open" if c.resolved_at is None else f"{c.resolution}"
            table.add_row(str(c.id), c.job, c.entity, c.kind, c.record, c.field or "", status)
        console.print(table)

    @conflicts_app.command("show")
    def conflicts_show(config: ConfigOption, conflict_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
        """Everything about one conflict: base, left and right values."""
        _cfg, store = load(config)
        c = store.conflict(conflict_id)
        if c is None:
            raise ConfigError(
                f"no conflict with id {conflict_id}", hint="List them with: testplan-bridge conflicts list"
            )
        data: dict[str, Any] = c.model_dump(mode="json", exclude={"attempt"})
        console.print_json(json.dumps(data, default=str))

    @conflicts_app.command("resolve")
    def conflicts_resolve(
        config: ConfigOption,
        conflict_id: Annotated[int, typer.Argument(metavar="ID")],
        take: Annotated[
            str,
            typer.Option(
                help="left | right | value=<JSON or text>. For a value a side cannot hold: the side holding it "
                "accepts the loss, value= gives one it can hold; for an ambiguous match: "
                'value=\'{"left": ID, "right": ID}\'; for a duplicate: value=keep'
            ),
        ],
        by: Annotated[str | None, typer.Option(help="Who resolves (default: the current user)")] = None,
    ) -> None:
        """Decide a conflict; the next sync carries the decision out."""
        from bridge.sync.resolutions import decide

        cfg, store = load(config)
        c = store.conflict(conflict_id)
        if c is None:
            raise ConfigError(
                f"no conflict with id {conflict_id}", hint="List them with: testplan-bridge conflicts list"
            )
        job = job_of(cfg, c)
        decision = decide(c, take, {"left": job.left, "right": job.right}, side_check(cfg, job, c.entity, store))
        store.resolve_conflict(
            conflict_id,
            resolution=decision.resolution,
            value=decision.value,
            by=by or getpass.getuser(),
            applied=decision.applied,
        )
        console.print(f"conflict {conflict_id} resolved ({decision.resolution}); {decision.says}", markup=False)

    @app.command()
    def notes(
        config: ConfigOption,
        job: Annotated[str | None, typer.Option(help="Only this job")] = None,
    ) -> None:
        """What runs noted that needs no decision: values a side stored differently from what was sent."""
        _cfg, store = load(config)
        rows = store.notes(job=job)
        table = Table(title=f"{len(rows)} note(s)", title_justify="left")
        for col in ("id", "job", "entity", "kind", "record", "field", "note"):
            table.add_column(col)
        for n in rows:
            table.add_row(str(n.id), n.job, n.entity, n.kind, n.record, n.field or "", n.message)
        console.print(table)
