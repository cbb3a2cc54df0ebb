"""Progress display: bars on a terminal, periodic structured log lines elsewhere (CI, daemons, pipes)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

log = logging.getLogger("bridge.progress")

Tick = Callable[[int], None]
Hook = Callable[[str, int | None], Tick]


@contextmanager
def progress_hook(enabled: bool | None = None, *, log_every: float = 10.0) -> Iterator[Hook]:
    """Yields ``hook(label, total) -> tick(n)``. ``enabled`` defaults to "stderr is a terminal"."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if enabled:
        # on stderr, never stdout (a result piped to a file or a script holds no bar), and transient: the
        # bars are erased when the work is done, so the screen keeps only the result
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as bars:

            def hook(label: str, total: int | None) -> Tick:
                task = bars.add_task(label, total=total)
                return lambda n: bars.advance(task, n)

            yield hook
        return

    def log_hook(label: str, total: int | None) -> Tick:
        state = {"done": 0, "last": time.monotonic()}

        def tick(n: int) -> None:
            state["done"] += n
            now = time.monotonic()
            if now - state["last"] >= log_every or (total is not None and state["done"] == total):
                state["last"] = now
                log.info("progress", extra={"task": label, "done": state["done"], "total": total})

        return tick

    yield log_hook
