"""Give the memory a finished run freed back to the system.

A run over many records frees most of what it held when it ends, but glibc's malloc keeps freed blocks
inside its heap (fragmented between blocks still in use) instead of returning them, so the process keeps
the high-water mark of its largest run: a daemon that once migrated 30,000 cases would hold that memory
for good, and the next run would grow on top of it. ``malloc_trim(0)`` hands the free pages back. Where the
C library is not glibc (musl, macOS) there is no such call and nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from collections.abc import Callable


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
