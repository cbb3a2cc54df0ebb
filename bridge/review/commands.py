"""``testplan-bridge ui``: the review pages for one config, until interrupted."""

from __future__ import annotations

from typing import Annotated

import typer

from bridge.cliargs import ConfigOption


def register(app: typer.Typer) -> None:
    @app.command()
    def ui(
        config: ConfigOption,
        host: Annotated[str, typer.Option(help="Address to listen on (other than loopback: [ui] token needed)")] = (
            "127.0.0.1"
        ),
        port: Annotated[int, typer.Option(help="Port (0 picks a free one)")] = 8470,
    ) -> None:
        """Serve the review pages: jobs, conflicts with their decisions, run history."""
        from bridge.commands import load
        from bridge.output import err_console
        from bridge.review.app import ReviewApp
        from bridge.review.server import bind, check_bind

        cfg, store = load(config)
        token = cfg.ui.token.get_secret_value() if cfg.ui.token is not None else None
        check_bind(host, token, "ui --host")
        server = bind(host, port, ReviewApp(cfg, store, token=token), "ui")
        shown = f"[{host}]" if ":" in host else host
        # the first stdout line is the address, for a person or a script that started us with --port 0
        print(f"http://{shown}:{server.port}/", flush=True)
        if token:
            err_console.print("open it once with ?token=<the [ui] token> (then a cookie keeps it)", markup=False)
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            store.close()
