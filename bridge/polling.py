"""Wait for a remote job (an apptest.ai test set, a PerfTest task run) with a growing pause and a deadline."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: the pause never grows beyond a minute: a job that finishes is noticed within that
MAX_PAUSE = 60.0


def poll_until(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float,
    pause: float,
    on_timeout: Callable[[T], Exception],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> T:
    """Call ``probe`` until ``done`` says its answer is final and return that answer.

    The pause between calls grows by half each time up to :data:`MAX_PAUSE`; the last pause is cut to end
    at the deadline, and after ``timeout`` seconds ``on_timeout(last answer)`` is raised.
    """
    deadline = clock() + timeout
    while True:
        current = probe()
        if done(current):
            return current
        left = deadline - clock()
        if left <= 0:
            raise on_timeout(current)
        sleep(min(pause, left))
        pause = min(pause * 1.5, MAX_PAUSE)
