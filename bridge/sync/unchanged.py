"""Listed cases held small, so a run over many cases keeps per record a few hundred bytes, not the model
(about 4.5 KB a case with three steps: 135 MB at 30,000 cases).

Every case a listing returns is kept pickled (:class:`Packed`, with what matching and duplicate checks look
at), and comes back whole (:func:`full`) when it is merged, matched or created: a migration of 30,000 cases
then holds 30,000 pickles and the batch being created, not 30,000 models.

A record read on one side whose view hashes equal what its link stored is kept pickled (a few hundred bytes
instead of the model); when the other side of the pair is unchanged too, the pickle is dropped and only the
ids remain. A pair with one side changed gets its pickled side back intact, so a merge sees exactly what was
read, with no second request.
"""

from __future__ import annotations

import json
import pickle
import zlib
from datetime import UTC, datetime
from typing import Any

from bridge.model import Case, CaseType, Priority, Step
from bridge.sync.merge import hashes
from mappings.store import hashes_digest, json_text


def _sample_pickles() -> bytes:
    """What every pickled case repeats: the class paths, attribute names, the pydantic state's layout, step
    models, enum members. Made of generic values only (never of data read), so it is the same in every
    process; a pickle never leaves the process that made it, so the dictionary needs no version."""
    steps = [Step(action="Step 1: do the action", expected="Result 1 is shown") for _ in range(3)]
    full = Case(
        id="1",
        marker="tpb-0123456789abcdef01234567",
        updated_at=datetime(2024, 1, 1, tzinfo=UTC),
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
        folder=("Folder", "Sub folder"),
        title="Title of the case",
        description="Description",
        preconditions="User is signed in",
        steps=steps,
        priority=Priority.MEDIUM,
        type=CaseType.FUNCTIONAL,
        tags=["regression", "smoke"],
        automation_key="tests.app.Test.test_case",
        requirements=["REQ-1"],
        estimate_seconds=30,
    )
    plain = Case(id="2", title="Title", priority=Priority.HIGH, type=CaseType.AUTOMATED)
    return b"".join(pickle.dumps(c, protocol=pickle.HIGHEST_PROTOCOL) for c in (plain, full))


#: zlib's preset dictionary: with it a case with three steps packs into ~150 bytes instead of ~540 (zlib alone
#: finds the repeats only within one pickle), which is 12 MB fewer at 30,000 listed cases, for no more CPU
_ZDICT = _sample_pickles()


def pack(case: Case) -> bytes:
    """The case pickled (which keeps everything, ``model_fields_set`` too), compressed at level 1 against
    :data:`_ZDICT`."""
    compressor = zlib.compressobj(1, zdict=_ZDICT)
    return compressor.compress(pickle.dumps(case, protocol=pickle.HIGHEST_PROTOCOL)) + compressor.flush()


def unpack(data: bytes) -> Case:
    decompressor = zlib.decompressobj(zdict=_ZDICT)
    case: Case = pickle.loads(decompressor.decompress(data) + decompressor.flush())
    return case


class Unchanged:
    """Stands for a listed case whose view hashes equal its link's: its ids and, until dropped, the case."""

    __slots__ = ("id", "marker", "updated_at", "_data")

    def __init__(self, case: Case, *, keep: bool = True) -> None:
        self.id = case.id
        self.marker = case.marker
        self.updated_at: datetime | None = case.updated_at
        self._data: bytes | None = pack(case) if keep else None

    def case(self) -> Case | None:
        """The case as read; None once dropped (the pair is then looked up directly, like a case not listed:
        only a side re-read after the other was found unchanged gets there)."""
        return None if self._data is None else unpack(self._data)

    def drop(self) -> None:
        self._data = None


class Packed:
    """A listed case kept pickled: its ids, marker, change time and match keys stay readable as attributes
    (``record.title`` and the like, as on a :class:`~bridge.model.Case`), the rest comes back with :meth:`case`."""

    __slots__ = ("id", "marker", "updated_at", "title", "folder", "automation_key", "_data")

    def __init__(self, case: Case) -> None:
        self.id = case.id
        self.marker = case.marker
        self.updated_at: datetime | None = case.updated_at
        self.title = case.title
        self.folder = case.folder
        self.automation_key = case.automation_key
        self._data = pack(case)

    def case(self) -> Case:
        return unpack(self._data)


def same_hashes(view: dict[str, Any], stored_digest: bytes) -> bool:
    """Whether the hashes of ``view`` are those the link stored (as JSON, the way the store wrote them)."""
    current = hashes(view)
    if hashes_digest(json_text(current)) == stored_digest:
        return True
    # a link saved before the store wrote compact JSON holds json.dumps text (until the pair is next saved)
    return hashes_digest(json.dumps(current)) == stored_digest


def full(record: Any) -> Any:
    """The record itself (a packed or pickled unchanged case comes back whole, a dropped one as None); None
    stays None."""
    return record.case() if isinstance(record, (Unchanged, Packed)) else record
