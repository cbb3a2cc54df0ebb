"""A finished run's freed memory goes back to the system (bridge.memory)."""

from __future__ import annotations

import ctypes.util

import pytest

from bridge.memory import give_back_freed_memory


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(not (ctypes.util.find_library("c") or "").startswith("libc.so"), reason="glibc only")
def test_memory_a_run_freed_between_blocks_still_held_is_returned() -> None:
    # what a run leaves: many freed malloc blocks (pickles, answer bodies: above pymalloc's 512 bytes) with
    # a few survivors among them, so the heap cannot shrink from its top
    blocks = [bytes(900) + i.to_bytes(4, "little") for i in range(120_000)]  # ~110 MB
    survivors = blocks[::50]
    del blocks
    held = _rss_mib()
    give_back_freed_memory()
    returned = held - _rss_mib()
    assert len(survivors) == 2_400
    assert returned > 50, f"only {returned:.0f} MiB of ~105 MiB freed went back to the system"
