"""The cycle collector's setting for a run (bridge.memory.run_collection): set while runs are on, put back as it
was when the last one ends, and garbage made during a run still collected."""

from __future__ import annotations

import gc
import threading

from bridge import memory


def test_a_run_sets_the_collector_aside_and_puts_it_back() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with memory.run_collection():
        assert gc.get_threshold()[0] >= memory.RUN_YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > frozen  # what the process held before the run is not walked
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen


def test_runs_on_several_threads_share_the_setting_until_the_last_ends() -> None:
    before = gc.get_threshold()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[tuple[int, ...]] = []

    def first() -> None:
        with memory.run_collection():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with memory.run_collection():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.get_threshold())  # the first run ended: this one's setting holds

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen and seen[0][0] >= memory.RUN_YOUNG_THRESHOLD
    assert gc.get_threshold() == before


def test_cycles_made_during_a_run_are_collected() -> None:
    class Node:
        other: Node | None = None

    gone = threading.Event()

    class Watched(Node):
        def __del__(self) -> None:
            gone.set()

    with memory.run_collection():
        a, b = Watched(), Node()
        a.other, b.other = b, a
        del a, b
        gc.collect()
    assert gone.is_set()
