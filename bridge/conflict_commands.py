"""``conflicts list|show|resolve`` and ``notes``: the conflict log as people read and decide it.

What a decision means for each kind of entry is :mod:`bridge.sync.resolutions`'; this module only reads the
command line, reaches the side whose own check a given value must pass, and prints.
"""

from __future__ import annotations

import getpass
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from bridge.cliargs import ConfigOption
from bridge.config import Config, Job
from bridge.errors import ConfigError
from bridge.output import JsonOpt, OutputOpt, conflict_dict, emit, wants_json

if TYPE_CHECKING:
    from pydantic import BaseModel

    from bridge.errors import Unrepresentable
    from bridge.sync.merge import Side
    from mappings.store import Store
    from mappings.tables import Conflict


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


def resolve(cfg: Config, store: Store, conflict_id: int, take: str, by: str | None) -> str:
    """Record a user's decision on a conflict (what ``conflicts resolve`` and the review page's forms do);
    the next sync carries it out. Returns the sentence saying what happens next."""
    from bridge.sync.resolutions import decide

    c = store.conflict(conflict_id)
    if c is None:
        raise ConfigError(f"no conflict with id {conflict_id}", hint="List them with: testplan-bridge conflicts list")
    job = job_of(cfg, c)
    decision = decide(c, take, {"left": job.left, "right": job.right}, side_check(cfg, job, c.entity, store))
    store.resolve_conflict(
        conflict_id,
        resolution=decision.resolution,
        value=decision.value,
        by=by or getpass.getuser(),
        applied=decision.applied,
    )
    return f"conflict {conflict_id} resolved ({decision.resolution}); {decision.says}"


def _show_text(console: Any, data: dict[str, Any]) -> None:
    """One conflict for people: what it is, then base / left / right of the value, in a fixed order."""
    for key in ("id", "job", "entity", "kind", "record", "field", "state", "resolution", "message"):
        if data.get(key) not in (None, ""):
            console.print(f"{key:>10}: {data[key]}", markup=False, highlight=False, soft_wrap=True)
    if isinstance(data.get("left_value"), list) or isinstance(data.get("right_value"), list):
        _show_steps(console, data)
        return
    for key in ("base_value", "left_value", "right_value", "resolved_value"):
        if key == "resolved_value" and data["state"] == "open":
            continue
        value = data.get(key)
        text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
        console.print(f"{key.removesuffix('_value'):>10}: {text}", markup=False, highlight=False, soft_wrap=True)


def _show_steps(console: Any, data: dict[str, Any]) -> None:
    """Steps one position at a time: the base, then each side only where it differs from the base."""
    from bridge.review.data import step_rows

    def line(step: dict[str, str] | None) -> str:
        return "(no step)" if step is None else f"{step['action']} -> {step['expected']}"

    for row in step_rows(data.get("base_value"), data.get("left_value"), data.get("right_value")):
        console.print(f"{'step ' + str(row['n']):>10}: base   {line(row['base'])}", markup=False, highlight=False)
        for side in ("left", "right"):
            shown = line(row[side]) if row[f"{side}_changed"] else "(as base)"
            console.print(f"{'':>10}  {side:6} {shown}", markup=False, highlight=False, soft_wrap=True)
    if data["state"] != "open" and data.get("resolved_value") is not None:
        console.print(f"{'resolved':>10}: {json.dumps(data['resolved_value'], ensure_ascii=False)}", markup=False)


def register(app: typer.Typer) -> None:
    from bridge.commands import console, load

    conflicts_app = typer.Typer(help="List, show and resolve conflicts.", no_args_is_help=True)
    app.add_typer(conflicts_app, name="conflicts")

    @conflicts_app.command("list")
    def conflicts_list(
        config: ConfigOption,
        job: Annotated[str | None, typer.Option(help="Only this job")] = None,
        all_: Annotated[bool, typer.Option("--all", help="Include resolved conflicts")] = False,
        output: OutputOpt = "text",
        json_: JsonOpt = False,
    ) -> None:
        """Open conflicts (with --all, resolved ones too)."""
        from bridge.review.data import titles

        cfg, store = load(config)
        rows = store.conflicts(job=job, open_only=not all_)
        if wants_json(output, json_):
            listed = []
            for c in rows:
                t = titles(store, c)
                listed.append({**conflict_dict(c), "left_title": t.left, "right_title": t.right})
            emit("conflicts", {"conflicts": listed})
            return
        table = Table(title=f"{len(rows)} conflict(s)" + ("" if all_ else " open"), title_justify="left")
        for col in ("id", "job", "entity", "kind", "field", "left", "right", "status"):
            table.add_column(col)
        sides = {j.name: (j.left, j.right) for j in cfg.jobs}
        for c in rows:
            status = "open" if c.resolved_at is None else f"{c.resolution}"
            t = titles(store, c)
            left_name, right_name = sides.get(c.job, ("left", "right"))
            left = f"{left_name}:{c.left_id or '-'} {t.left}".strip()
            right = f"{right_name}:{c.right_id or '-'} {t.right}".strip()
            table.add_row(str(c.id), c.job, c.entity, c.kind, c.field or "", left, right, status)
        console.print(table)

    @conflicts_app.command("show")
    def conflicts_show(
        config: ConfigOption,
        conflict_id: Annotated[int, typer.Argument(metavar="ID")],
        output: OutputOpt = "text",
        json_: JsonOpt = False,
    ) -> None:
        """Everything about one conflict: base, left and right values."""
        _cfg, store = load(config)
        c = store.conflict(conflict_id)
        if c is None:
            raise ConfigError(
                f"no conflict with id {conflict_id}", hint="List them with: testplan-bridge conflicts list"
            )
        data = conflict_dict(c, full=True)
        if wants_json(output, json_):
            emit("conflict", {"conflict": data})
            return
        _show_text(console, data)

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
        cfg, store = load(config)
        console.print(resolve(cfg, store, conflict_id, take, by), markup=False)

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
