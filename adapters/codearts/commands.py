"""``testplan-bridge codearts api-suite`` and ``codearts environments``: the two CodeArts TestPlan operations of
the vendor document (section 4) that are not part of a sync.

- ``api-suite`` generates an API test suite from a YAML or JSON file (Swagger) in a CodeArts Repo
  repository (``POST /v1/projects/{pid}/repository/testsuites``) and prints the suite and case ids;
- ``environments`` lists the project's environment parameter groups, page by page (offset 0-999, 1-200 a
  page; ``--all`` follows the pages to the end).

Arguments the API would refuse are refused before anything is sent (exit 2, naming the option); errors the
service answers come with the vendor's explanation (exit 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from adapters.codearts.client import CodeArtsClient
from adapters.codearts.settings import CodeArtsSettings
from bridge.errors import ConfigError

codearts_app = typer.Typer(help="CodeArts TestPlan operations outside a sync.", no_args_is_help=True)
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Path of the TOML config file")]
SystemOption = Annotated[
    str | None, typer.Option("--system", help="codearts system in the config (default: the only one)")
]


def register(app: typer.Typer) -> None:
    if any(group.name == "codearts" for group in app.registered_groups):
        return  # main() registers on every call
    app.add_typer(codearts_app, name="codearts")


def _client(config: Path, system: str | None) -> CodeArtsClient:
    from bridge.config import load_config

    cfg = load_config(config)
    names = [n for n, s in cfg.systems.items() if isinstance(s, CodeArtsSettings)]
    if system is None:
        if len(names) != 1:
            raise ConfigError(
                f"{cfg.source}: name the codearts system with --system (codearts systems: {', '.join(names) or 'none'})"
            )
        system = names[0]
    settings = cfg.system(system)
    if not isinstance(settings, CodeArtsSettings):
        raise ConfigError(f"{cfg.source}: system {system!r} is not a codearts system")
    return CodeArtsClient(settings.named(system))  # type: ignore[arg-type]  # named() keeps the class


def _check(option: str, value: str, low: int, high: int) -> None:
    if not low <= len(value) <= high:
        raise ConfigError(f"{option}: {low} to {high} characters, got {len(value)} ({value!r})")


@codearts_app.command("api-suite")
def api_suite(
    config: ConfigOption,
    name: Annotated[str, typer.Option("--name", help="Name of the test suite to generate (3-128 characters)")],
    repository: Annotated[str, typer.Option("--repository", help="CodeArts Repo repository id (32 characters)")],
    branch: Annotated[str, typer.Option("--branch", help="Repository branch (3-100 characters)")],
    file: Annotated[str, typer.Option("--file", help="Path of the YAML/JSON file in the repository (6-128)")],
    system: SystemOption = None,
) -> None:
    """Generate an API test suite from a Swagger file in a repository; prints its suite and case ids."""
    from bridge.cli import console

    _check("--name", name, 3, 128)
    _check("--repository", repository, 32, 32)
    _check("--branch", branch, 3, 100)
    _check("--file", file, 6, 128)
    if not file.endswith((".yaml", ".yml", ".json")):
        raise ConfigError(f"--file: the service takes YAML or JSON files, got {file!r}")
    client = _client(config, system)
    try:
        answer = client.create_api_test_suite(name, repository, branch, file)
    finally:
        client.close()
    case_ids = list(answer.get("testcase_ids") or [])
    out = {"testsuite_id": answer.get("testsuite_id"), "testcase_ids": case_ids}
    console.print(
        f"codearts: test suite {out['testsuite_id']} {name!r} with {len(case_ids)} case(s)",
        highlight=False,
        markup=False,
    )
    console.print(json.dumps(out), highlight=False, markup=False, soft_wrap=True)


@codearts_app.command("environments")
def environments(
    config: ConfigOption,
    offset: Annotated[int, typer.Option("--offset", help="First group, 0-based (0-999)")] = 0,
    limit: Annotated[int, typer.Option("--limit", help="Groups per page (1-200)")] = 200,
    all_pages: Annotated[bool, typer.Option("--all", help="Follow the pages to the last group")] = False,
    system: SystemOption = None,
) -> None:
    """List the project's environment parameter groups (one JSON object a line)."""
    from bridge.cli import console

    if not 0 <= offset <= 999:
        raise ConfigError(f"--offset: 0 to 999, got {offset}")
    if not 1 <= limit <= 200:
        raise ConfigError(f"--limit: 1 to 200, got {limit}")
    client = _client(config, system)
    shown = 0
    try:
        while True:
            page = client.list_environments(offset, limit)
            groups = page.get("environments") or []
            for group in groups:
                console.print(json.dumps(group, ensure_ascii=False), highlight=False, markup=False, soft_wrap=True)
            shown += len(groups)
            offset += len(groups)
            total = int(page.get("total_count") or 0)
            if not all_pages or not groups or offset >= total or offset > 999:
                break
    finally:
        client.close()
    console.print(f"codearts: {shown} of {total} environment group(s)", highlight=False, markup=False)
