"""The ``testplan-bridge`` command line.

Exit codes (the README's table says the same):

- 0 success;
- 1 the run failed or had errors (a system or the store answered with an error, a record could not be written);
- 2 bad input (config, arguments, files) and nothing was written;
- 3 ``ci push --fail-on unmatched``: the results were posted, but some tests matched no case;
- 4 a job is running in another process and this run left it alone (``--wait`` queues behind it instead);
- 70 an unexpected internal error (a bug): one paragraph naming the traceback file written for the report;
- 130 interrupted (Ctrl-C).

Errors are printed as one paragraph, never with a traceback or a secret.
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

import bridge.startup  # noqa: F401  (before whatever imports httpx: see there)
from bridge import __version__
from bridge.cliargs import ConfigOption
from bridge.errors import BridgeError
from bridge.output import arrow, stdout_console

if TYPE_CHECKING:
    from adapters.base import SystemSettings

app = typer.Typer(
    name="testplan-bridge",
    help="Keep test plans, cases and results in sync between CodeArts TestPlan, TestRail and TestPlanIt.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = stdout_console()
err_console = Console(stderr=True)


#: modules that add commands to ``app`` (each defines ``register(app)``); kept in one list so that
#: adding a command does not mean editing this file's body
COMMAND_MODULES: tuple[str, ...] = (
    "bridge.commands",
    "bridge.ci.commands",
    "adapters.perftest.commands",
    "adapters.codearts.commands",
    "bridge.daemon.commands",
    "bridge.review.commands",
)
#: the module that adds each command or group: a run imports only the one it runs (importing them all and
#: building every command costs a CI step ~25 ms of its start-up). Help, and a name not listed here, get
#: them all (tests/cli/test_command_modules.py checks that every name is listed)
MODULE_OF: dict[str, str] = {
    **dict.fromkeys(("sync", "migrate", "demo", "notes", "status", "conflicts"), "bridge.commands"),
    "ci": "bridge.ci.commands",
    "perftest": "adapters.perftest.commands",
    "codearts": "adapters.codearts.commands",
    "daemon": "bridge.daemon.commands",
    "ui": "bridge.review.commands",
}


def _version(value: bool) -> None:
    if value:
        console.print(f"testplan-bridge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit")
    ] = False,
) -> None:
    """testplan-bridge."""


@app.command()
def check(
    config: ConfigOption,
    online: Annotated[bool, typer.Option(help="Also check that each system answers and the credentials work")] = False,
) -> None:
    """Validate a config file (and, with --online, each system's credentials)."""
    from rich.table import Table  # here: the other commands, ci push among them, print no table

    from bridge.config import load_config
    from bridge.logs import configure_logging

    cfg = load_config(config)
    fmt = cfg.logging.format
    configure_logging(cfg.logging.level, json_lines=None if fmt == "auto" else fmt == "json")
    table = Table(title=f"{config}: valid", title_justify="left")
    table.add_column("system")
    table.add_column("kind")
    table.add_column("url")
    table.add_column("online check" if online else "")
    failures = 0
    for name, system in cfg.systems.items():
        status = ""
        if online:
            try:
                status = "[green]ok[/green] " + _check_online(name, system)
            except BridgeError as exc:
                failures += 1
                status = f"[red]failed[/red]: {exc}"
        table.add_row(name, system.kind, system.url, status)
    console.print(table)
    for job in cfg.jobs:
        console.print(
            f"job [bold]{job.name}[/bold]: {job.left} {arrow(job.direction)} {job.right} ({job.direction}), "
            f"entities {', '.join(e.value for e in job.entities)}, conflicts: {job.conflict_policy}"
            + (f", schedule {job.schedule}" if job.schedule else "")
        )
    if failures:
        raise typer.Exit(1)


def _check_online(name: str, system: SystemSettings) -> str:
    from adapters.registry import ADAPTERS, CHECKERS, create_adapter, load

    kind = system.kind
    if kind in ADAPTERS:
        adapter = create_adapter(name, system)
        with adapter:
            return adapter.describe()
    if kind in CHECKERS:
        return str(load(CHECKERS[kind])(name, system))
    return "(no online check for this kind)"


@app.command()
def simulate(
    system: Annotated[str, typer.Argument(help="codearts | testrail | testplanit | apptest | perftest")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one)")] = 0,
    seed: Annotated[int | None, typer.Option(help="Seed the simulator with generated data (deterministic)")] = None,
    rpm: Annotated[
        int | None, typer.Option(min=1, help="Rate limit: requests per minute, over it 429 with Retry-After")
    ] = None,
    latency: Annotated[float, typer.Option(min=0.0, help="Seconds added to every request")] = 0.0,
) -> None:
    """Serve a simulator of SYSTEM on 127.0.0.1 until interrupted.

    The first line on stdout is JSON: {"system", "url", "credentials", "ids"}; ``ids`` holds the ids a
    config needs next (project ids, the PerfTest project). A port in use: one line on stderr, exit 2.
    """
    from bridge.simulate_cli import serve

    serve(system, port, seed=seed, rpm=rpm, latency=latency)


def _register_commands() -> None:
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(app)


def _register_for(args: list[str]) -> None:
    """The commands a run of ``args`` can reach: those of its command's module, or all of them."""
    module = MODULE_OF.get(args[0]) if args else None
    if module is None:
        _register_commands()
    else:
        importlib.import_module(module).register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI and turn every error into one paragraph and an exit code.

    ``argv`` None: the process's own arguments, and the process ends when this returns (or raises SystemExit).
    """
    try:
        _run(argv)
    finally:
        if argv is None:
            # What is left of the process is the interpreter's teardown, whose garbage collections walk every
            # object the imports made: ~45 ms of CPU after a CI push's last answer. Frozen, they are not walked;
            # cycles among them are left to the end of the process. A caller in the same process (tests) passes
            # argv and keeps its collector as it was.
            gc.freeze()


def _run(argv: list[str] | None) -> None:
    try:
        _register_for(sys.argv[1:] if argv is None else list(argv))
        # in non-standalone mode click returns the code of a typer.Exit raised by a command instead of raising
        code = app(args=argv, standalone_mode=False)
    except BridgeError as exc:
        # markup off: remote messages contain [brackets] that are not rich markup
        err_console.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        import click

        # usage errors arrive here in non-standalone mode; typer 0.16+ raises those of its own copy of click
        show = getattr(exc, "show", None)
        if isinstance(exc, (click.ClickException, typer.TyperException)) and callable(show):
            show()
            sys.exit(2)
        # the last guard: whatever escaped is a bug; the user gets a paragraph, the report gets the traceback
        from bridge import crash

        path = crash.write_traceback(exc, crash.argv_of(argv))
        err_console.print(crash.paragraph(exc, path), highlight=False, markup=False, soft_wrap=True)
        sys.exit(crash.EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)
