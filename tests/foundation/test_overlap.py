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


class Rounds(Listing):
    """A listing that notes, for each page asked for, the pages answered by then."""

    def __init__(self, items: int) -> None:
        super().__init__(items)
        self.answered: set[int] = set()
        self.seen_when_asked: dict[int, set[int]] = {}

    def read(self, offset: int) -> tuple[list[int], bool]:
        with self.lock:
            self.seen_when_asked[offset] = set(self.answered)
        page = super().read(offset)
        with self.lock:
            self.answered.add(offset)
        return page


@pytest.mark.parametrize(("items", "at_most"), [(0, 2), (5, 2), (20, 2), (30, 5), (50, 5), (80, 8), (81, 11)])
def test_two_pages_first_read_a_long_listing_in_rounds_asked_for_by_their_last_page(items: int, at_most: int) -> None:
    """first=2: 2 pages, then 3 at a time; a round is asked for once the last page of the one before says
    more follow (the pages before it say nothing about the pages after it)."""
    listing = Rounds(items)
    with PagesAtOnce(listing.read, page_size=PAGE, at_once=3, first=2) as pages:
        got = [record for page in pages for record in page]
    assert got == list(range(items))
    asked = sorted(listing.offsets)  # a page past the end not yet sent when the listing ends is not sent at all
    assert asked == [PAGE * n for n in range(len(asked))] and max(1, -(-items // PAGE)) <= len(asked) <= at_most
    rounds = [[0, 1], [2, 3, 4], [5, 6, 7], [8, 9, 10]]
    for before, after in zip(rounds, rounds[1:], strict=False):
        for page in after:
            if page * PAGE in listing.seen_when_asked:
                assert before[-1] * PAGE in listing.seen_when_asked[page * PAGE]


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
