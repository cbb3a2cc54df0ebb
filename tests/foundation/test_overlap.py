"""bridge.overlap: lookup tables read when first looked in, and a listing's pages asked for several at once."""

from __future__ import annotations

import threading

import pytest

from bridge.overlap import LazyMapping, PagesAtOnce

PAGE = 10


def test_a_lazy_mapping_reads_on_the_first_lookup_and_only_then() -> None:
    reads: list[int] = []

    def load() -> dict[str, int]:
        reads.append(1)
        return {"a": 1}

    table = LazyMapping(load)
    assert reads == [] and not table.loaded  # made, nothing looked up: nothing read
    assert table.get("b") is None and "a" in table and table["a"] == 1 and dict(table) == {"a": 1}
    assert reads == [1] and table.loaded
    with pytest.raises(KeyError):
        table["b"]


class Listing:
    """A server's offset-paged listing of ``items`` records: ``read(offset)`` as PagesAtOnce calls it."""

    def __init__(self, items: int) -> None:
        self.items = items
        self.offsets: list[int] = []
        self.lock = threading.Lock()

    def read(self, offset: int) -> tuple[list[int], bool]:
        with self.lock:
            self.offsets.append(offset)
        page = list(range(offset, min(offset + PAGE, self.items)))
        return page, offset + PAGE < self.items


@pytest.mark.parametrize(("items", "at_most_beyond"), [(0, 0), (5, 0), (20, 0), (30, 1), (80, 2), (81, 2)])
def test_pages_come_in_order_and_few_are_asked_for_past_the_end(items: int, at_most_beyond: int) -> None:
    listing = Listing(items)
    with PagesAtOnce(listing.read, page_size=PAGE, at_once=3) as pages:
        got = [record for page in pages for record in page]
    assert got == list(range(items))
    needed = max(1, -(-items // PAGE))
    # a page past the end not yet sent when the last one is read is not sent at all
    asked = sorted(listing.offsets)
    assert asked == [PAGE * n for n in range(len(asked))] and needed <= len(asked) <= needed + at_most_beyond


def test_later_pages_are_asked_for_before_earlier_ones_are_answered() -> None:
    """Page 2 is answered only once page 3 has been asked for: read one after the other, it never would be."""
    third_asked = threading.Event()

    def read(offset: int) -> tuple[list[int], bool]:
        if offset == 3 * PAGE:
            third_asked.set()
        if offset == 2 * PAGE and not third_asked.wait(timeout=10):
            raise AssertionError("page 3 was not asked for while page 2 was on its way")
        return [offset], offset < 5 * PAGE

    with PagesAtOnce(read, page_size=PAGE, at_once=3) as pages:
        assert [p[0] for p in pages] == [PAGE * n for n in range(6)]


def test_a_failing_page_is_raised_in_its_place_and_ends_the_listing() -> None:
    def read(offset: int) -> tuple[list[int], bool]:
        if offset == PAGE:
            raise RuntimeError("page 1 failed")
        return [offset], True

    pages = PagesAtOnce(read, page_size=PAGE, at_once=3)
    assert next(pages) == [0]
    with pytest.raises(RuntimeError, match="page 1 failed"):
        next(pages)
    assert list(pages) == []
