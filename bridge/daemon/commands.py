"""``testplan-bridge daemon``: run every scheduled job until SIGTERM/SIGINT; SIGHUP reloads the config."""

from __future__ import annotations

import logging
import os
import signal
import sys
from types import FrameType
from typing import Annotated

import typer

from bridge.cliargs import ConfigOption
from bridge.config import parse_duration
from bridge.errors import ConfigError


def register(app: typer.Typer) -> None:
    @app.command()
    def daemon(
        config: ConfigOption,
        workers: Annotated[int, typer.Option(help="Records written in parallel per run")] = 4,
        grace: Annotated[
            str, typer.Option(help="On SIGTERM, how long a run may take to reach a record boundary (e.g. 30s)")
        ] = "30s",
    ) -> None:
        """Run every job that has a schedule, on its schedule, until stopped.

        Several instances may share one PostgreSQL store: each firing runs on exactly one of them.
        SIGTERM/SIGINT stop after the record in flight; SIGHUP reloads the config (a bad one is logged and
        the running config is kept). Config errors exit 2 before anything is written.
        """
        from bridge.daemon.service import Daemon, bind_http, load_daemon_config, setup_logging
        from mappings.store import Store

        try:
            grace_s = parse_duration(grace).total_seconds()
        except ValueError as exc:
            raise ConfigError(f"--grace: {exc}") from None
        cfg = load_daemon_config(config)
        setup_logging(cfg)
        if workers < 1:
            raise ConfigError("--workers must be at least 1")
        http = bind_http(cfg)  # before the store: a port in use is a start-up error with nothing written
        try:
            store = Store(cfg.store.url)
        except BaseException:
            if http is not None:
                http.server_close()
            raise
        d = Daemon(config, cfg, store, workers=workers, grace=grace_s, http=http)

        def on_stop(signum: int, _frame: FrameType | None) -> None:
            d.request_stop(signal.Signals(signum).name)

        def on_hup(_signum: int, _frame: FrameType | None) -> None:
            d.request_reload()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGHUP, on_hup)
        code = d.run()
        d.store.close()
        if d.abandoned:
            # a run thread is still inside a remote call; its run is recorded as aborted already, and
            # interpreter shutdown would wait for the thread: leave now
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        raise typer.Exit(code)
