"""Give the memory a finished run freed back to the system, and keep the cycle collector's work small during it.

A run over many records frees most of what it held when it ends, but glibc's malloc keeps freed blocks
inside its heap (fragmented between blocks still in use) instead of returning them, so the process keeps
the high-water mark of its largest run: a daemon that once migrated 30,000 cases would hold that memory
for good, and the next run would grow on top of it. ``malloc_trim(0)`` hands the free pages back. Where the
C library is not glibc (musl, macOS) there is no such call and nothing happens.

During a run the cycle collector cost about a tenth of a migration's CPU (measured at 4,000 cases: 147 us a
case), most of it in full collections walking the ~85,000 objects the process held before the run started
(modules, pydantic's schemas, the config), which no run frees. :func:`run_collection` sets those aside for
the run (``gc.freeze``) and lets more objects be allocated before a young collection (most of a record's
objects are freed by their reference count before one comes by): 53 us a case. Nothing is left uncollected
for good: at the run's end the objects go back to the collector's care, and give_back_freed_memory collects.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: objects allocated (net) before a young collection while a run is on (Python's default: 700)
RUN_YOUNG_THRESHOLD = 10_000

_lock = threading.Lock()
_runs = 0  # runs inside run_collection now (a daemon may run jobs in threads at once)
_before: tuple[int, ...] = ()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def give_back_freed_memory() -> None:
    """Return the C heap's free pages to the system (tens of milliseconds); call it once a run's records are
    no longer referenced."""
    # the runner, its context, writer and report refer to each other: what they held is freed only by the
    # cycle collector, which may not come by for a long time after the last allocation
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@contextmanager
def run_collection() -> Iterator[None]:
    """The cycle collector set for a run (see the module docstring); runs on several threads share the setting,
    and the last to end puts the collector back as it was."""
    global _runs, _before
    with _lock:
        _runs += 1
        if _runs == 1:
            _before = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(_before[0], RUN_YOUNG_THRESHOLD), *_before[1:])
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0:
                gc.set_threshold(*_before)
                gc.unfreeze()
