"""Round trips overlapped or left out: a listing's pages asked for several at once, and lookup tables read
only when something is looked up in them.

A CI push against a server 50 ms away spends most of its time waiting on answers one after the other; what
does not depend on an answer need not wait for it, and a table nothing looks in need not be read at all.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class LazyMapping(Mapping[K, V]):
    """A mapping that calls ``load`` the first time anything is looked up in it (``get``, ``in``, ``[]``,
    iterating), and answers from what it returned from then on: a TestRail plan without a milestone never
    needs the project's milestones, nor a run without configurations its configurations."""

    def __init__(self, load: Callable[[], Mapping[K, V]]) -> None:
        self._load: Callable[[], Mapping[K, V]] | None = load
        self._data: Mapping[K, V] = {}

    def _loaded(self) -> Mapping[K, V]:
        if self._load is not None:
            self._data, self._load = self._load(), None
        return self._data

    @property
    def loaded(self) -> bool:
        return self._load is None

    def __getitem__(self, key: K) -> V:
        return self._loaded()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


#: ``read(offset)`` of a paged listing: the page's items, and whether the server says more pages follow
ReadPage = Callable[[int], tuple[list[T], bool]]


class PagesAtOnce(Iterator[list[T]]):
    """The pages of an offset-paged listing, in order, with the next ones asked for while the caller reads.

    A listing whose answers say only whether more follows (TestRail's ``_links.next``, or a full page) costs
    one round trip per page when each page waits for the one before it. Here pages are asked for a round of
    several at a time, and the next round as soon as the last page of the round says more follow: only that
    answer says anything about the pages after it. A round holds as many pages as have been asked for so far
    (plus ``first - 1``), up to ``at_once``: from a first round of one page, a listing of one or two pages asks
    for nothing it does not need, one of 8 pages waits on 5 round trips, and at most ``at_once - 1`` pages past
    the end are asked for (answered empty; nothing of theirs is used). The first round is asked for at once,
    so the caller can make another request while it comes.

    ``first``: the pages of the first round. 2 for a caller that expects a long listing (the CI step reads
    every case of a project): 8 pages are then read in 3 round trips, with no page past the end; a listing of
    one page asks for one page past its end.

    Only for a listing nothing changes during (the CI step's: it writes once it has every case): pages read
    at once see the server at about the same time, as pages read one after the other do not. What a page's
    read raises is raised here, in page order; the pages read past the end are waited for when the listing
    ends (they were asked for with its last page) and what they raise is ignored. Use as a context manager:
    leaving early waits for the pages in flight.
    """

    def __init__(
        self, read: ReadPage[T], *, page_size: int, at_once: int = 3, first: int = 1, name: str = "pages"
    ) -> None:
        self._read = read
        self._page_size = page_size
        self._at_once = max(1, at_once)
        self._first = min(max(1, first), self._at_once)
        # a round is asked for by the worker that read the last page of the round before (see _read_last):
        # at most at_once requests are open at a time even when two rounds overlap
        self._pool = ThreadPoolExecutor(max_workers=self._at_once, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._pending: deque[Future[tuple[list[T], bool]]] = deque()
        self._next_offset = 0
        self._asked = 0
        self._done = False
        self._ask_round()

    def _ask_round(self) -> None:
        with self._lock:
            if self._done:
                return
            # counted under the lock: the worker asking for the next round may have its answer before the
            # round it read from is counted
            pages = min(self._at_once, self._asked + self._first - 1) if self._asked else self._first
            for n in range(pages):
                read = self._read_last if n == pages - 1 else self._read
                self._pending.append(self._pool.submit(read, self._next_offset))
                self._next_offset += self._page_size
            self._asked += pages

    def _read_last(self, offset: int) -> tuple[list[T], bool]:
        """The last page of a round; when more follow, the next round is asked for before the caller sees it."""
        items, more = self._read(offset)
        if more:
            self._ask_round()
        return items, more

    def __next__(self) -> list[T]:
        if self._done:
            raise StopIteration
        try:
            items, more = self._pending.popleft().result()
        except BaseException:
            self.close()
            raise
        if not more:
            self.close()
        return items

    def close(self) -> None:
        with self._lock:
            self._done = True
            self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> PagesAtOnce[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
