"""What a run of the command line imports: the module of the command it runs, not every command's
(bridge.cli.MODULE_OF), and not httpx's own command line (bridge/startup.py)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest
import typer

from bridge import __version__, cli


@pytest.mark.parametrize("module", cli.COMMAND_MODULES)
def test_every_command_and_group_is_listed_with_its_module(module: str) -> None:
    app = typer.Typer()
    importlib.import_module(module).register(app)
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    names += [g.name or "" for g in app.registered_groups]
    assert names and {name: cli.MODULE_OF.get(name) for name in names} == dict.fromkeys(names, module)


def _modules_after(*argv: str) -> tuple[list[str], str]:
    """The command modules a fresh interpreter imported to run ``testplan-bridge ARGV``, and its stdout."""
    code = (
        "import json, sys\nfrom bridge import cli\ntry:\n    cli.main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in cli.COMMAND_MODULES if m in sys.modules)))"
    )
    env = {**os.environ, "COLUMNS": "200"}  # help wide enough to show every name whole
    out = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True, env=env
    ).stdout
    *text, modules = out.rstrip("\n").split("\n")
    return json.loads(modules), "\n".join(text)


def test_a_command_imports_its_own_module_only() -> None:
    modules, text = _modules_after("ci", "push", "--help")
    assert modules == ["bridge.ci.commands"] and "--junit" in text


def test_help_and_unknown_names_see_every_command() -> None:
    modules, text = _modules_after("--help")
    assert modules == sorted(cli.COMMAND_MODULES)
    assert all(name in text for name in cli.MODULE_OF)
    modules, _ = _modules_after("no-such-command")
    assert modules == sorted(cli.COMMAND_MODULES)


def test_httpx_command_line_is_not_imported() -> None:
    code = (
        "import sys\nfrom bridge import cli\ntry:\n    cli.main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "import httpx\nprint(sys.modules.get('httpx._main'), 'pygments' in sys.modules, callable(httpx.main))"
    )
    argv = ["ci", "push", "-c", "no-such.toml", "--to", "tr", "--junit", "no-such.xml"]  # bad input: exit 2
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    assert out.stdout.rstrip().endswith("None False True") and "no-such.xml" in out.stderr


def test_the_console_entry_freezes_the_collector_as_the_process_ends_and_in_process_calls_do_not() -> None:
    code = (
        "import atexit, gc, sys\nfrom bridge import cli\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
        "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print('frozen in process:', gc.get_freeze_count() > 0)\n"
        "sys.argv = ['testplan-bridge', '--version']\ncli.main()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.splitlines()
    version = f"testplan-bridge {__version__}"
    assert out == [version, "frozen in process: False", version, "frozen at exit: True"], out
