"""``testplan-bridge perftest create-task``: a CodeArts PerfTest task from PerfTest case ids."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bridge.cliargs import ConfigOption
from bridge.errors import ConfigError

perftest_app = typer.Typer(help="CodeArts PerfTest tasks.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    if any(group.name == "perftest" for group in app.registered_groups):
        return  # main() registers on every call
    app.add_typer(perftest_app, name="perftest")


def _case_ids(values: list[str]) -> list[int]:
    ids: list[int] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise ConfigError(f"--case-ids: PerfTest case ids are integers, got {part!r}")
            ids.append(int(part))
    if not ids:
        raise ConfigError("--case-ids: give at least one PerfTest case id")
    return sorted(set(ids))


@perftest_app.command("create-task")
def create_task(
    config: ConfigOption,
    name: Annotated[str, typer.Option("--name", help="Task name")],
    case_ids: Annotated[list[str], typer.Option("--case-ids", help="PerfTest case ids; comma-separated, repeatable")],
    system: Annotated[
        str | None, typer.Option("--to", "--system", help="perftest system in the config (default: the only one)")
    ] = None,
    perftest_project: Annotated[
        int | None, typer.Option("--perftest-project", help="PerfTest project id (overrides the config)")
    ] = None,
    parallel: Annotated[bool, typer.Option("--parallel", help="Run the cases concurrently")] = False,
    enable_full_link: Annotated[
        bool | None,
        typer.Option(
            "--enable-full-link/--no-enable-full-link",
            help="Full-link pressure test (default: the system's enable_full_link)",
        ),
    ] = None,
    update: Annotated[
        bool, typer.Option("--update", help="If a task with this name exists, set its cases instead")
    ] = False,
    start: Annotated[bool, typer.Option("--start", help="Start the task after creating it")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="With --start: wait until the run is over")] = False,
    timeout: Annotated[str, typer.Option("--timeout", help="How long --wait waits (e.g. 30m)")] = "30m",
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", help="First pause between status checks (s)")
    ] = 5.0,
) -> None:
    """Create (or with --update, create or update) a PerfTest task; optionally start it and wait for its run."""
    from adapters.perftest.client import PerfTestClient, ensure_plan_task
    from adapters.perftest.settings import PerfTestSettings
    from bridge.cli import console
    from bridge.config import load_config, parse_duration

    ids = _case_ids(case_ids)
    try:
        wait_seconds = parse_duration(timeout).total_seconds()
    except ValueError as exc:
        raise ConfigError(f"--timeout: {exc}") from None
    cfg = load_config(config)
    names = [n for n, s in cfg.systems.items() if isinstance(s, PerfTestSettings)]
    if system is None:
        if len(names) != 1:
            raise ConfigError(
                f"{cfg.source}: name the perftest system with --system (perftest systems: {', '.join(names) or 'none'})"
            )
        system = names[0]
    settings = cfg.system(system)
    if not isinstance(settings, PerfTestSettings):
        raise ConfigError(f"{cfg.source}: system {system!r} is not a perftest system")
    if perftest_project is not None:
        settings = settings.model_copy(update={"perftest_project_id": perftest_project})
    out: dict[str, object] = {"system": system, "name": name, "case_ids": ids}
    with PerfTestClient(system, settings) as client:
        task_id = (
            ensure_plan_task(client, name, ids, parallel=parallel, enable_full_link=enable_full_link)
            if update
            else client.create_task(name, ids, parallel=parallel, enable_full_link=enable_full_link)
        )
        out["task_id"] = task_id
        console.print(f"perftest: task {task_id} {name!r} with {len(ids)} case(s)", highlight=False, markup=False)
        if start:
            out["task_run_id"] = client.start_task(task_id)
            console.print(f"perftest: task {task_id} started (run {out['task_run_id']})", highlight=False)
            if wait:
                status = client.wait_task(task_id, timeout=wait_seconds, interval=poll_interval)
                out["run_status"] = status.run_status
                console.print(f"perftest: task {task_id} {status.label}", highlight=False)
    console.print(json.dumps(out), highlight=False, markup=False, soft_wrap=True)
