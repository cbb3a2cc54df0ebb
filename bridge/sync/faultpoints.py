"""Named points on the write path where a test stops a run the way a crash would.

The writer calls :func:`reached` just before and just after each remote write (create, update, delete,
result post) and each store commit that records one. Nothing happens unless a hook is installed; the crash
tests install one that raises :class:`SimulatedCrash` (a ``BaseException``, so no ``except Exception`` on the
way up catches it, like ``SIGKILL`` leaves no handler a say) at the point they name, then check what the next
run makes of the store and the remote systems.

Points are ``<entity>.<write>.<before|after>``: ``case.create.before`` (intent committed, nothing sent),
``case.create.after`` (the record exists remotely, no link yet), ``case.update.*``, ``case.delete.*``,
``plan.create.*``, ``result.post.*`` (``after``: results landed, no copy recorded), ``<entity>.link.*``
(the store commit of a link or agreed state) and ``result.record.after`` (copies recorded, intent open).
"""

from __future__ import annotations

from collections.abc import Callable

_hook: Callable[[str], None] | None = None


class SimulatedCrash(BaseException):
    """Raised by a test's hook: the run stops here, as if the process had died."""


def reached(point: str) -> None:
    hook = _hook
    if hook is not None:
        hook(point)


def install(hook: Callable[[str], None] | None) -> None:
    """Set (or with None, remove) the hook every :func:`reached` calls."""
    global _hook
    _hook = hook
