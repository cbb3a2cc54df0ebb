"""Command-line options shared by every command, so that each is spelled and behaves the same everywhere.

- ``--config/-c``: the TOML config; when not given, ``$TPB_CONFIG``, else the first of :data:`DEFAULT_PATHS`
  that exists.
- Systems are named with ``--to`` (the system written to) and ``--from`` (the system read from); the older
  ``--system`` of ``perftest create-task`` is kept as an alias of its ``--to``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from bridge.errors import ConfigError

CONFIG_ENV = "TPB_CONFIG"
#: looked up in this order when neither --config nor $TPB_CONFIG is given
DEFAULT_PATHS: tuple[str, ...] = ("testplan-bridge.toml", "~/.config/testplan-bridge/config.toml")


def default_config() -> Path:
    """The config a command uses when ``--config`` is not given (a ConfigError when there is none)."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"{CONFIG_ENV}={env}: no such file",
                hint=f"Point {CONFIG_ENV} at an existing config, or pass --config.",
            )
        return path
    for candidate in DEFAULT_PATHS:
        path = Path(candidate).expanduser()
        if path.is_file():
            return path
    raise ConfigError(
        "no config file: none given with --config, $TPB_CONFIG is not set, and none of "
        + ", ".join(DEFAULT_PATHS)
        + " exists",
        hint="Pass --config FILE, set TPB_CONFIG, or copy config.example.toml to ./testplan-bridge.toml.",
    )


def _config_value(value: Path | None) -> Path:
    return value if value is not None else default_config()


ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config",
        "-c",
        default_factory=lambda: None,
        callback=_config_value,
        show_default=False,
        help=f"Path of the TOML config file (default: ${CONFIG_ENV}, else ./{DEFAULT_PATHS[0]}, "
        f"else {DEFAULT_PATHS[1]})",
    ),
]
